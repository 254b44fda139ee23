import type { Command } from 'commander';
import { asUserError, journalFor, whoAmI } from './journal-access.js';
import { print } from '../output.js';

export function registerAbort(program: Command): void {
  program
    .command('abort')
    .description('stop a run: its running step is stopped and later steps are skipped')
    .argument('<run-id>', 'the run, as phoenix runs lists it')
    .option('--by <name>', 'who aborts, recorded in the journal')
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--json', 'print the result as JSON')
    .action(async (runId: string, flags: { by?: string; config?: string; json?: boolean }) => {
      const { journal, close } = await journalFor(flags);
      try {
        const { ended, run } = await journal.requestAbort(runId, flags.by ?? whoAmI());
        const text = ended
          ? `aborted ${runId} (its process was gone)`
          : `abort requested: pid ${run.owner_pid} stops ${runId} within a second`;
        if (flags.json) print(JSON.stringify({ run_id: runId, ended, status: run.status }) + '\n');
        else print(text + '\n');
      } catch (error) {
        asUserError(error);
      } finally {
        await close();
      }
    });
}
