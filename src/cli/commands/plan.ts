import type { Command } from 'commander';
import { loadRunbookConfig, printPlan } from './runbook-shared.js';

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      "print a runbook's stages and steps with each step's pre-flight check; exit 1 when not ready",
    )
    .argument('[runbook]', 'dr_failover, region_failover, self_heal or failback', 'dr_failover')
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--json', 'print the plan and its checks as JSON')
    .action(async (runbook: string, flags: { config?: string; json?: boolean }) => {
      const config = loadRunbookConfig(flags, true);
      const ready = await printPlan(config, runbook, Boolean(flags.json));
      process.exitCode = ready ? 0 : 1;
    });
}
