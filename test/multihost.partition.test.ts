import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SCENARIOS,
  SHORT_SCHEDULE,
  missingNetworkSupport,
  runScenario,
  startControllerSet,
  startMultiHostLab,
  stopControllerSet,
  sweepLeftovers,
  type ControllerSet,
  type MultiHostLab,
} from '../src/lab/hosts/index.js';
import { PHOENIX_CLI } from './helpers/paths.js';

// The short version of `npm run bench:partition`: the reference deployment on eight network
// namespaces, and two of the nemesis's faults on the same three controllers, each checked by the
// checker over the DR site's effects, the lease and the journal. Needs root, iproute2 and nftables
// (scripts/setup.sh).
const missing = missingNetworkSupport();
if (missing && process.env.CI === 'true') throw new Error(`the multi-host lab cannot run: ${missing}`);
const TTL_S = 3;
/**
 * Node 20's --test-timeout (300 s in scripts/run-tests.mjs) bounds the whole file, hooks included;
 * past it the runner kills the file and reports one cancelled test and nothing else. Every wait
 * of the scenarios ends by this deadline instead, with the phase it was in and the controllers' logs (60 s are left for the teardown).
 */
const DEADLINE_MS = Date.now() + 240_000;

let lab: MultiHostLab | undefined;
let controllers: ControllerSet | undefined;
const dir = mkdtempSync(join(tmpdir(), 'phoenix-multihost-'));
before(async () => {
  if (missing) return;
  sweepLeftovers();
  // One PostgreSQL: the short schedule has no store failover (the bench's store-failover has), and a
  // standby's pg_basebackup would cost the file seconds it does not use.
  lab = await startMultiHostLab({
    cli: PHOENIX_CLI,
    dir,
    ttl_s: TTL_S,
    interval_s: 1,
    promote_s: 3 * TTL_S,
    standby: 'none',
  });
  controllers = startControllerSet(lab, 'short-schedule', join(dir, 'logs'));
});
after(async () => {
  if (controllers) await stopControllerSet(controllers);
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

for (const name of SHORT_SCHEDULE) {
  const scenario = SCENARIOS.find((s) => s.name === name)!;
  test(
    `across hosts, ${scenario.what}: no effect twice, none lost, no token backwards, no failover while healthy`,
    { skip: missing },
    async (t) => {
      const result = await runScenario(lab!, scenario, join(dir, 'logs'), {
        controllers,
        deadlineMs: DEADLINE_MS,
      });
      t.diagnostic(`phases (s): ${JSON.stringify(result.phases)}; leaderless ${result.max_leaderless_s} s`);
      assert.deepEqual(result.violations, [], JSON.stringify(result));
      assert.equal(
        result.duplicate_effects + result.lost_steps + result.token_regressions + result.false_failovers,
        0,
      );
      if (scenario.storeReachable)
        assert.ok(
          result.within_bound,
          `leaderless ${result.max_leaderless_s} s over 2 × TTL + one interval: ${JSON.stringify(result)}`,
        );
    },
  );
}
