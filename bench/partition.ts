// Faults across hosts: the reference deployment on separate network namespaces (three controllers,
// the store, the primary and DR sites, two agents), a nemesis that partitions, pauses, kills and
// stops the store on a schedule, and a checker over the DR site's effects, the lease and the journal.
// Usage: npm run bench:partition [-- --json --runs N --ttl S --only a,b --keep --async-standby]
//   (as root; needs `npm run build` first). --async-standby then also runs what an asynchronous
//   standby loses on a store failover, reported apart (`async_standby`): its violations are the point.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_CLI } from './paths.js';
import { BenchCleanup } from './cleanup.js';
import {
  ASYNC_STANDBY_LOSS,
  LAB_HOSTS,
  SCENARIOS,
  missingNetworkSupport,
  runScenario,
  startMultiHostLab,
  sweepLeftovers,
  type ScenarioResult,
} from '../src/lab/hosts/index.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) =>
  args.includes(name) ? args[args.indexOf(name) + 1] : fallback;
const json = args.includes('--json');
const runs = Number(option('--runs', '1'));
const ttl_s = Number(option('--ttl', '3'));
const only = option('--only', '').split(',').filter(Boolean);
const schedule = only.length ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
if (only.length && schedule.length !== only.length) {
  console.error(
    `unknown scenario in --only ${only.join(',')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}
const missing = missingNetworkSupport();
if (missing) {
  console.error(`cannot build the multi-host lab: ${missing}`);
  process.exit(2);
}
sweepLeftovers();

const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-partition-'));
// The multi-host lab tears its namespaces and processes down on a signal itself (and exits); this
// takes the directory with it, and what started before the lab was whole.
const cleanup = BenchCleanup.install('bench:partition', { dir, keep: args.includes('--keep') });
const lab = await startMultiHostLab({ cli: BUILT_CLI, dir, ttl_s, interval_s: 1, promote_s: 3 * ttl_s });
cleanup.add('the multi-host lab', () => lab.close());
const results: ScenarioResult[] = [];
let asyncStandby: ScenarioResult | undefined;
try {
  for (let run = 0; run < runs; run++)
    for (const scenario of schedule) {
      const result = await runScenario(lab, scenario, join(dir, `run-${run}`));
      results.push(result);
      process.stderr.write(
        `${scenario.name}: ${result.violations.length ? result.violations.join('; ') : 'ok'}; leaderless ${result.max_leaderless_s} s (${result.duration_s} s)\n`,
      );
    }
  if (args.includes('--async-standby')) {
    asyncStandby = await runScenario(lab, ASYNC_STANDBY_LOSS, join(dir, 'async-standby'));
    process.stderr.write(
      `${ASYNC_STANDBY_LOSS.name} (expected to lose): ${asyncStandby.violations.join('; ') || 'nothing lost this time'}\n`,
    );
  }
} finally {
  await cleanup.close();
}

const sum = (key: 'duplicate_effects' | 'lost_steps' | 'token_regressions' | 'false_failovers') =>
  results.reduce((n, r) => n + r[key], 0);
const summary = {
  hosts: LAB_HOSTS.length,
  scenarios: schedule.length,
  runs,
  duplicate_effects: sum('duplicate_effects'),
  lost_steps: sum('lost_steps'),
  token_regressions: sum('token_regressions'),
  false_failovers: sum('false_failovers'),
  max_leaderless_s: Math.max(0, ...results.filter((r) => r.store_reachable).map((r) => r.max_leaderless_s)),
  ttl_s,
  interval_s: 1,
  leaderless_bound_s: 2 * ttl_s + 1,
  per_scenario: results.map(({ violations, ...r }) => ({ ...r, violations })),
  ...(asyncStandby ? { async_standby: asyncStandby } : {}),
};
if (json) console.log(JSON.stringify(summary));
else {
  for (const r of results)
    console.log(
      `${r.scenario.padEnd(26)} ${r.outage ? 'outage ' : 'healthy'}  dup ${r.duplicate_effects} lost ${r.lost_steps} regress ${r.token_regressions} false ${r.false_failovers}  leaderless ${r.max_leaderless_s} s${r.store_reachable ? ` (bound ${r.leaderless_bound_s} s)` : ' (store down: no bound)'}`,
    );
  if (asyncStandby)
    console.log(
      `asynchronous standby (not in the totals): dup ${asyncStandby.duplicate_effects} lost ${asyncStandby.lost_steps} regress ${asyncStandby.token_regressions} shared tokens ${asyncStandby.shared_tokens}: ${asyncStandby.violations.join('; ') || 'nothing lost this time'}`,
    );
  console.log(
    `${summary.hosts} hosts, ${summary.scenarios} scenarios × ${runs}: ${summary.duplicate_effects} duplicate effects, ${summary.lost_steps} lost steps, ${summary.token_regressions} token regressions, ${summary.false_failovers} false failovers; max leaderless ${summary.max_leaderless_s} s (TTL ${ttl_s} s)`,
  );
}
