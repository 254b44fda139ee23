import { loadConfig, loadConfigWithSecrets, type PhoenixConfig } from '../../config/index.js';
import {
  SecretCache,
  secretReader,
  secretStoreOptions,
  type SecretStoreOptions,
} from '../../secrets/index.js';
import { printErr } from '../output.js';

/**
 * Where the secret stores are (`secrets.aws_region`, the topology, `secrets.aws_replica_regions`), read
 * before any secret is; the defaults when the file cannot say (its own errors are reported next).
 */
export function storeOptionsOf(file: string): SecretStoreOptions {
  try {
    const { raw, topology } = loadConfig(file);
    return secretStoreOptions(raw.secrets, topology);
  } catch {
    return {};
  }
}

/**
 * The configuration with its `${aws-sm:...}` / `${azure-kv:...}` references read (main file and
 * `runbooks.file`), for the commands that act: run, plan, failover, failback, score. A secret that cannot be
 * read does not stop the command: what needs it is refused naming it (a runbook, the LLM), the rest works,
 * so a failover during the outage of the secrets' own region still runs when its runbook needs none of them.
 */
export async function loadConfigReadingSecrets(
  file: string,
  options: { cache?: SecretCache; warn?: boolean } = {},
): Promise<PhoenixConfig> {
  const cache = options.cache ?? new SecretCache(secretReader(storeOptionsOf(file)));
  const config = await loadConfigWithSecrets(file, cache, process.env, { startWithout: true });
  if (options.warn !== false)
    for (const why of config.unreadSecrets?.values() ?? [])
      printErr(`${file}: warning: ${why}; what needs it is refused until it can be read\n`);
  return config;
}
