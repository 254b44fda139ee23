import { LifecycleRefusal } from '../../lifecycle/index.js';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { defaultConfig, loadConfig, type PhoenixConfig } from '../../config/index.js';
import { openStore as openConfiguredStore, type SqlDb } from '../../store/index.js';
import { Journal, RunBusyError, RunStateError, CooldownError } from '../../runbook/journal.js';
import { PlanError } from '../../runbook/plan-error.js';
import { UserError } from '../errors.js';

/**
 * What the commands that only read or annotate the journal (approve, abort, runs, report) need:
 * the configuration, the store and the journal. Kept apart from the runbook engine, so these
 * commands start without loading every step type's cloud SDK.
 */

export interface ConfigFlag {
  config?: string;
}

function configFile(flags: ConfigFlag, required: boolean): string | undefined {
  const file =
    flags.config ?? process.env.PHOENIX_CONFIG ?? (existsSync('phoenix.yaml') ? 'phoenix.yaml' : undefined);
  if (!file && required)
    throw new UserError('no configuration: pass --config FILE (examples/runbook.yaml shows the runbooks)');
  return file;
}

/** The configuration from --config, else $PHOENIX_CONFIG, else ./phoenix.yaml when present. */
export function loadRunbookConfig(flags: ConfigFlag, required: boolean): PhoenixConfig {
  const file = configFile(flags, required);
  return file ? loadConfig(file) : defaultConfig();
}

/** Like loadRunbookConfig, with the secret references read: for the commands that plan or run runbooks. */
export async function loadRunbookConfigWithSecrets(flags: ConfigFlag): Promise<PhoenixConfig> {
  const { loadConfigReadingSecrets } = await import('./config-secrets.js');
  return loadConfigReadingSecrets(configFile(flags, true)!);
}

/** The configured store (SQLite file or PostgreSQL schema); a store that cannot be opened is a user error. */
export async function openStore(config: PhoenixConfig): Promise<SqlDb> {
  try {
    return await openConfiguredStore(config.store);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
}

export function whoAmI(): string {
  try {
    return `${userInfo().username} (cli)`;
  } catch {
    return 'cli';
  }
}

/** Turns the runbook module's own errors into one-line user errors. */
export function asUserError(error: unknown): never {
  if (error instanceof PlanError) throw new UserError(error.message.split('\n').join('\n         '));
  if (
    error instanceof RunBusyError ||
    error instanceof RunStateError ||
    error instanceof CooldownError ||
    error instanceof LifecycleRefusal
  )
    throw new UserError(error.message);
  throw error;
}

export async function journalFor(flags: ConfigFlag): Promise<{ journal: Journal; close(): Promise<void> }> {
  const config = loadRunbookConfig(flags, false);
  const db = await openStore(config);
  return { journal: new Journal(db), close: () => db.close() };
}
