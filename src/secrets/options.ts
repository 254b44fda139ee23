import type { SecretStoreOptions } from './stores.js';

/** The `secrets:` section's settings that say where the stores are. */
export interface SecretSettings {
  aws_region?: string;
  aws_replica_regions?: string[];
  key_vault_url?: string;
}

interface Site {
  cloud: string;
  region?: string;
}

/**
 * Where the secret stores are, from the configuration alone: Secrets Manager names without an ARN are read in
 * `secrets.aws_region`, else in the topology's AWS site (the primary, else DR), and from
 * `secrets.aws_replica_regions` when that region does not answer. Key Vault references name their vault, whose
 * address is `secrets.key_vault_url` with the name in place of `{vault}` (default: Azure's public cloud).
 */
export function secretStoreOptions(
  settings: SecretSettings | undefined,
  topology: { primary: Site; dr: Site } | undefined,
): SecretStoreOptions {
  const awsSite = [topology?.primary, topology?.dr].find((site) => site?.cloud === 'aws');
  return {
    aws: {
      region: settings?.aws_region ?? awsSite?.region,
      replicaRegions: settings?.aws_replica_regions,
    },
    ...(settings?.key_vault_url
      ? { azure: { vaultUrl: (vault: string) => settings.key_vault_url!.replaceAll('{vault}', vault) } }
      : {}),
  };
}
