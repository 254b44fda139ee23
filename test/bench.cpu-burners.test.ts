import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startCpuBurners } from '../bench/cpu-burners.js';
import { isRunning } from '../src/lab/process.js';

test('cpu burners spin until stopped and none is left running after stop()', async () => {
  const burners = startCpuBurners(2);
  assert.equal(burners.pids.length, 2);
  assert.ok(burners.pids.every(isRunning));
  await burners.stop();
  assert.ok(
    burners.pids.every((pid) => !isRunning(pid)),
    `still running: ${burners.pids.filter(isRunning).join(' ')}`,
  );
});

test('a bench stopped with SIGTERM stops its cpu burners by PID before it exits', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/bench/cpu-burners-child.ts', '3'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const pids = JSON.parse(line.toString().trim().split('\n')[0]) as number[];
  assert.equal(pids.length, 3);
  assert.ok(pids.every(isRunning));
  child.kill('SIGTERM');
  const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, 'SIGTERM');
  // Orphaned burners would keep spinning: each must be gone (or a zombie) shortly after the bench exits.
  const deadline = Date.now() + 5000;
  while (pids.some(isRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pids.filter(isRunning), []);
});
