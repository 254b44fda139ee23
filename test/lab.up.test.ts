import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLabState } from '../src/lab/index.js';
import { isRunning } from '../src/lab/process.js';
import { runCli } from './helpers/paths.js';
import { labPids } from './helpers/lab.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-lab-up-'));

// The default (logical) lab, its writes reaching DR and `lab down` are proven by lab.hands-on's tour.
after(() => rmSync(root, { recursive: true, force: true }));

test('lab down cleans up a lab whose processes were already killed (a --replication physical lab)', async () => {
  const otherDir = join(root, 'lab2');
  const up = await runCli(['lab', 'up', '--dir', otherDir, '--replication', 'physical', '--json'], {
    timeoutMs: 180_000,
  });
  assert.equal(up.code, 0, up.stderr);
  const state = readLabState(otherDir)!;
  assert.equal(state.postgres?.replication, 'physical');
  assert.match(up.stdout, /standby, WAL receiver streaming/);
  try {
    process.kill(state.apps!.primary!.process.pid, 'SIGKILL');
    process.kill(state.s3!.process.pid, 'SIGKILL');
    const status = await runCli(['lab', 'status', '--dir', otherDir]);
    assert.match(status.stdout, /DOWN\s+app \(primary\)/);
  } finally {
    const down = await runCli(['lab', 'down', '--dir', otherDir]);
    assert.equal(down.code, 0, down.stderr);
  }
  assert.deepEqual(
    labPids(state).filter((pid) => isRunning(pid)),
    [],
  );
  assert.equal(existsSync(otherDir), false);
});
