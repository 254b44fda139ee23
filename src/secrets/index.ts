export {
  findReferences,
  parseReference,
  referenceRegion,
  SECRET_REFERENCE,
  type SecretReference,
} from './references.js';
export {
  describeFailure,
  secretReader,
  secretRegions,
  type SecretReader,
  type SecretStoreOptions,
} from './stores.js';
export { SecretCache, secretsOnlyInPrimary } from './cache.js';
export { runbookSecretsOnlyInPrimary, withSecretResidency } from './residency.js';
export { secretStoreOptions, type SecretSettings } from './options.js';
