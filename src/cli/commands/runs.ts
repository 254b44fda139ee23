import type { Command } from 'commander';
import { formatSeconds } from '../../core/duration.js';
import { buildReport } from '../../runbook/report.js';
import { journalFor } from './journal-access.js';
import { print } from '../output.js';

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list runbook runs, newest first, with their status and timings')
    .option('--limit <n>', 'how many', (v) => Number.parseInt(v, 10), 20)
    .option('--config <file>', 'configuration file (default: $PHOENIX_CONFIG or ./phoenix.yaml)')
    .option('--json', 'one JSON object per run (NDJSON), with stages, steps and approvals')
    .action(async (flags: { limit: number; config?: string; json?: boolean }) => {
      const { journal, close } = await journalFor(flags);
      try {
        const runs = await journal.listRuns(flags.limit);
        for (const run of runs) {
          const report = await buildReport(journal, run.id);
          const interrupted = run.active === 1 && !journal.ownerAlive(run);
          if (flags.json) {
            print(JSON.stringify({ ...report, interrupted }) + '\n');
            continue;
          }
          const started = new Date(run.created_at * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
          const took = report.total_s === null ? 'running' : formatSeconds(report.total_s);
          const state = interrupted
            ? `${run.status} (interrupted: resume with phoenix failover --resume ${run.id})`
            : run.status;
          const nothing = (report.stages_without_effect ?? []).map((d) => d.stage);
          const did = nothing.length
            ? `, stage${nothing.length > 1 ? 's' : ''} ${nothing.join(', ')} did nothing`
            : '';
          print(`${run.id}  ${run.runbook.padEnd(15)}  ${started}  ${took.padStart(7)}  ${state}${did}\n`);
        }
        if (!flags.json && runs.length === 0) print('no runs yet\n');
      } finally {
        await close();
      }
    });
}
