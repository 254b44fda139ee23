// An interrupted benchmark must not leave its lab running: bench:ha --kill-anywhere, SIGTERMed once its
// servers (BIND, two PostgreSQL servers, s3rver, Azurite) and controllers are up, stops every process it
// started, by PID, and removes its directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { isRunning, processesUsing, stopProcess } from '../src/lab/index.js';
import { descendants } from '../bench/cleanup.js';
import { REPO_ROOT } from './helpers/paths.js';

/** The program a process runs, as /proc names it ('' once gone). */
function program(pid: number): string {
  try {
    return basename(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '');
  } catch {
    return '';
  }
}

test('bench:ha --kill-anywhere stops every process it started and removes its directory on SIGTERM', async () => {
  const bench = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/ha.ts', '--kill-anywhere', '--kills', '1', '--json'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  let dir: string | undefined;
  const started = new Set<number>();
  try {
    await interrupted();
  } finally {
    // Whatever a failed run left is the test's to stop, by PID.
    for (const pid of [bench.pid!, ...started])
      await stopProcess(pid, { group: false }).catch(() => undefined);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }

  async function interrupted(): Promise<void> {
    const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
    // The event: the first round's controllers follow a leader, so every server is up.
    dir = await new Promise<string>((resolve, reject) => {
      bench.stderr!.on('data', (chunk) => {
        stderr += chunk;
        const up = /servers up in (\S+)/.exec(stderr);
        if (up && /round 0: controllers up/.test(stderr)) resolve(up[1]);
      });
      void exited.then((code) => reject(new Error(`the benchmark exited (${code}) first:\n${stderr}`)));
    });
    for (const pid of [...descendants(bench.pid!), ...processesUsing(dir).map((p) => p.pid)])
      started.add(pid);
    const programs = new Set([...started].map(program));
    for (const server of ['named', 'postgres', 'node'])
      assert.ok(
        programs.has(server),
        `no ${server} among the benchmark's processes: ${[...programs].join(', ')}`,
      );

    bench.kill('SIGTERM');
    assert.equal(await exited, 143, stderr);
    const left = [...started].filter(isRunning);
    assert.deepEqual(
      left.map((pid) => `${pid} ${program(pid)}`),
      [],
      'processes the benchmark started outlived it',
    );
    assert.equal(existsSync(dir), false, `${dir} is still there`);
  }
});
