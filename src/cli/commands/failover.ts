import type { Command } from 'commander';
import { loadRunbookConfigWithSecrets } from './journal-access.js';
import { executeRunbook, printPlan, type ExecuteFlags } from './runbook-shared.js';

/** `failover` and `failback` share everything but the runbook they run. */
export function registerRunbookCommand(
  program: Command,
  name: string,
  defaultRunbook: string,
  description: string,
): void {
  program
    .command(name)
    .description(description)
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--runbook <name>', 'the runbook to run', defaultRunbook)
    .option('--dry-run', 'print the plan with its pre-flight checks; change nothing')
    .option('--yes', 'run without prompts: confirm the start and approve every gate')
    .option('--resume <run-id>', 'continue an interrupted or failed run; finished steps are not repeated')
    .option('--reason <text>', 'why, recorded with the run')
    .option(
      '--override-cooldown <reason>',
      'start even inside the cooldown (decision.cooldown) of the previous run of this runbook; the reason is journaled',
    )
    .option('--json', 'print the final report as JSON (no progress view)')
    .action(async (flags: ExecuteFlags & { runbook: string; dryRun?: boolean }) => {
      if (flags.dryRun) {
        const ready = await printPlan(
          await loadRunbookConfigWithSecrets(flags),
          flags.runbook,
          Boolean(flags.json),
        );
        process.exitCode = ready ? 0 : 1;
        return;
      }
      await executeRunbook(flags.runbook, flags);
    });
}

export function registerFailover(program: Command): void {
  registerRunbookCommand(
    program,
    'failover',
    'dr_failover',
    'run the failover runbook to the DR site (durable: resumable with --resume, one run at a time)',
  );
}
