import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import type { ChangeKind } from '../../core/index.js';
import { CHANGE_KINDS, ChangeStore } from '../../context/index.js';
import { openStore } from '../../store/index.js';
import { UserError } from '../errors.js';
import { print } from '../output.js';

interface ChangeFlags {
  config: string;
  kind: string;
  service?: string;
  description: string;
  at?: string;
  source?: string;
  json?: boolean;
}

/** `phoenix change`: the hook a CI/CD pipeline calls after a deploy or a config change. */
export function registerChange(program: Command): void {
  program
    .command('change')
    .description('record a deploy or config change, so the analysis can tell a bad release from an outage')
    .requiredOption('--config <file>', 'YAML configuration file (for store.path)')
    .requiredOption('--kind <kind>', `what changed: ${CHANGE_KINDS.join(', ')}`)
    .requiredOption('--description <text>', 'what was changed, e.g. "checkout v2.3.1"')
    .option('--service <name>', 'the service that changed')
    .option('--at <time>', 'when, as ISO 8601 (default: now)')
    .option('--source <name>', 'who recorded it, e.g. github-actions', 'cli')
    .option('--json', 'print the recorded change as JSON')
    .action(async (flags: ChangeFlags) => {
      const config = loadConfig(flags.config);
      if (!CHANGE_KINDS.includes(flags.kind as ChangeKind))
        throw new UserError(`--kind "${flags.kind}" is not known; use one of ${CHANGE_KINDS.join(', ')}`);
      if (!flags.description.trim()) throw new UserError('--description is empty; say what changed');
      let at = Date.now() / 1000;
      if (flags.at !== undefined) {
        const ms = Date.parse(flags.at);
        if (Number.isNaN(ms))
          throw new UserError(
            `--at "${flags.at}" is not a time; write ISO 8601 such as 2026-05-01T12:00:00Z`,
          );
        at = ms / 1000;
      }
      let store: ChangeStore;
      try {
        store = ChangeStore.on(await openStore(config.store), true);
      } catch (error) {
        throw new UserError((error as Error).message);
      }
      try {
        const recorded = await store.record({
          at,
          kind: flags.kind as ChangeKind,
          service: flags.service,
          description: flags.description,
          source: flags.source,
        });
        if (flags.json) print(JSON.stringify(recorded) + '\n');
        else
          print(
            `recorded change ${recorded.id}: ${recorded.kind}${recorded.service ? ` ${recorded.service}` : ''} at ${new Date(at * 1000).toISOString()}: ${recorded.description}\n`,
          );
      } finally {
        await store.close();
      }
    });
}
