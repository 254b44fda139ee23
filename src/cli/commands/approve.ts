import type { Command } from 'commander';
import { asUserError, journalFor, whoAmI } from './journal-access.js';
import { print } from '../output.js';

export function registerApprove(program: Command): void {
  program
    .command('approve')
    .description("approve a run's open approval gate (works from any process sharing the store)")
    .argument('<run-id>', 'the run, as phoenix runs lists it')
    .option('--gate <gate>', 'approve only this gate (stage:NAME or step:NAME); default: every open gate')
    .option('--by <name>', 'who approves, recorded in the journal')
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--json', 'print the result as JSON')
    .action(async (runId: string, flags: { gate?: string; by?: string; config?: string; json?: boolean }) => {
      const { journal, close } = await journalFor(flags);
      try {
        const gates = await journal.approve(runId, flags.by ?? whoAmI(), flags.gate);
        if (flags.json) print(JSON.stringify({ run_id: runId, approved: gates }) + '\n');
        else print(`approved ${gates.join(', ')} of ${runId}\n`);
      } catch (error) {
        asUserError(error);
      } finally {
        await close();
      }
    });
}
