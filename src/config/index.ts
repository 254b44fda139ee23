export {
  loadConfig,
  loadConfigWithSecrets,
  keepSecretsCurrent,
  configReferences,
  retryUnreadSecrets,
  runbooksFilePath,
  DEFAULT_SECRET_REFRESH_S,
  parseConfig,
  defaultConfig,
  defaultDecisionConfig,
  resolveConfig,
} from './load.js';
export type { PhoenixConfig, DecisionConfig, MaintenanceWindow, LiveSection } from './load.js';
export { ConfigError, formatIssue, closest, type ConfigIssue } from './errors.js';
export { configSchema, type RawConfig } from './schema.js';
export { referenceRows, referenceTable, type ReferenceRow } from './reference.js';
export { durationSchema } from './sections/core.js';
export { readConfigDocument, MAX_CONFIG_BYTES } from './document.js';
export {
  holdsReference,
  interpolateReferences,
  parseHoldingReferences,
  valueAt,
  ENV_REFERENCE,
} from './interpolate.js';
