import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { killAll, query, startCli, waitFor, type CliProcess } from './helpers/ha.js';

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a step dies with its SIGKILLed controller, and the resumed attempt runs alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-fence-step-'));
  const log = join(dir, 'steps.log');
  const db = join(dir, 'phoenix.db');
  // The first attempt forks a long sleep (as a promote or a DNS change would take time);
  // a later attempt finishes at once. Each line names the attempt that wrote it.
  const script = [
    `echo "start $PHOENIX_ATTEMPT" >> "${log}"`,
    `if [ "$PHOENIX_ATTEMPT" = 1 ]; then sleep 30; fi`,
    `echo "done $PHOENIX_ATTEMPT" >> "${log}"`,
  ].join('\n');
  const config = join(dir, 'phoenix.yaml');
  writeFileSync(
    config,
    stringify({
      store: { path: db },
      runbooks: {
        dr_failover: {
          stages: [
            {
              name: 'database',
              steps: [{ name: 'promote', type: 'command', params: { command: 'sh', args: ['-c', script] } }],
            },
          ],
        },
      },
    }),
  );
  const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  const children: CliProcess['child'][] = [];
  try {
    const first = startCli(['failover', '--yes', '--config', config]);
    children.push(first.child);
    await waitFor(
      () => `attempt 1 to start (${first.output()})`,
      () => lines().includes('start 1'),
    );
    await waitFor(
      "the attempt's process group in the journal",
      () => query(db, 'SELECT pgid FROM runbook_processes').length === 1,
    );
    const [{ pgid, run_id }] = query<{ pgid: number; run_id: string }>(
      db,
      'SELECT pgid, run_id FROM runbook_processes',
    );
    // Only the controller dies, as with a SIGKILL or an OOM kill: its step's own process
    // group sees the controller's pipe close and kills itself.
    process.kill(first.child.pid!, 'SIGKILL');
    assert.equal(await first.exit, 137);
    await waitFor('the step to die with its controller', () => !groupAlive(pgid));

    const resumed = startCli(['failover', '--resume', run_id, '--yes', '--config', config]);
    children.push(resumed.child);
    assert.equal(await resumed.exit, 0, resumed.output());
    assert.deepEqual(lines(), ['start 1', 'start 2', 'done 2'], 'attempt 1 never finished beside attempt 2');
  } finally {
    killAll(children);
  }
});
