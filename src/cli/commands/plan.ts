import type { Command } from 'commander';
import { failbackReadiness, type FailbackReadiness } from '../../runbook/index.js';
import { loadRunbookConfigWithSecrets } from './journal-access.js';
import { printPlan } from './runbook-shared.js';
import { print } from '../output.js';

function formatFailback(f: FailbackReadiness): string {
  const lag = f.lag_s === null ? 'unknown' : `${f.lag_s.toFixed(1)} s`;
  const head = f.ready
    ? `failback: possible now (${f.step}: subscription ${f.subscription}, lag ${lag})`
    : `failback: NOT possible now${f.step ? ` (${f.step})` : ''}`;
  return [head, ...f.reasons.map((r) => `  - ${r}`)].join('\n');
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description(
      "print a runbook's stages and steps with each step's pre-flight check; exit 1 when not ready. For failback, also whether the rebuilt primary has caught up (measured from both databases)",
    )
    .argument('[runbook]', 'dr_failover, region_failover, self_heal, reprotect or failback', 'dr_failover')
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option(
      '--json',
      'print the plan and its checks as JSON (failback: a second line { failback_readiness })',
    )
    .action(async (runbook: string, flags: { config?: string; json?: boolean }) => {
      const config = await loadRunbookConfigWithSecrets(flags);
      let ready = await printPlan(config, runbook, Boolean(flags.json));
      if (runbook === 'failback') {
        const failback = await failbackReadiness(config);
        print(
          (flags.json ? JSON.stringify({ failback_readiness: failback }) : formatFailback(failback)) + '\n',
        );
        ready &&= failback.ready;
      }
      process.exitCode = ready ? 0 : 1;
    });
}
