import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processesUsing } from '../src/lab/index.js';
import { REPO_ROOT } from './helpers/paths.js';
import { needFiles } from './helpers/tools.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-lab-dist-'));
const dir = join(root, 'lab');
const builtCli = join(REPO_ROOT, 'dist/cli/main.js');

function runBuilt(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [builtCli, ...args],
      { cwd: REPO_ROOT, timeout: 180_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

after(async () => {
  if (existsSync(builtCli)) await runBuilt(['lab', 'down', '--dir', dir]);
  rmSync(root, { recursive: true, force: true });
});

// `npm test` builds dist/ first (scripts/setup.sh); a bare `npm run test:only` may not have one.
test(
  'the built CLI runs the lab daemons from dist, not through tsx',
  { skip: needFiles([builtCli], 'run npm run build') },
  async () => {
    const up = await runBuilt(['lab', 'up', '--dir', dir, '--json']);
    assert.equal(up.code, 0, up.stderr);
    const daemons = processesUsing(dir).filter((p) => p.command.includes('daemon.'));
    assert.deepEqual([...new Set(daemons.map((p) => p.command.split(' ')[2]))].sort(), [
      'app',
      'feeds',
      's3',
      'sync',
    ]);
    for (const daemon of daemons) {
      assert.ok(daemon.command.includes(join(REPO_ROOT, 'dist/lab/daemon.js')), daemon.command);
      assert.doesNotMatch(daemon.command, /tsx/);
    }
    const down = await runBuilt(['lab', 'down', '--dir', dir]);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(processesUsing(dir), []);
  },
);
