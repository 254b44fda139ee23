import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContinuedFailures } from '../../src/report/index.js';
import { needFiles } from '../helpers/tools.js';
import { PHOENIX_CLI, REPO_ROOT, runCli } from '../helpers/paths.js';
import { reportConfig } from './report-world.js';

const SCRIPT = '/usr/bin/script';

/** A runbook whose second stage goes on past a failing step, with no approval gate to wait on. */
function continuedWorld() {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-continued-'));
  const command = (name: string, script: string, extra = {}) => ({
    name,
    type: 'command',
    params: { command: 'sh', args: ['-c', script] },
    ...extra,
  });
  const { file } = reportConfig(dir, {
    runbooks: {
      dr_failover: {
        stages: [
          { name: 'promote', steps: [command('promote-db', 'true')] },
          {
            name: 'verify',
            steps: [
              command('smoke-test', 'true'),
              command('status-page', 'echo "status page down" >&2; exit 3', { continue_on_error: true }),
            ],
          },
        ],
      },
    },
  });
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a stage past a continue_on_error failure is described with the failure, and a clean or failed stage by its status', () => {
  const continued = new ContinuedFailures();
  continued.onStep('verify', 'smoke', 'succeeded');
  continued.onStep('verify', 'status-page', 'failed', 'exit code 3');
  continued.onStep('promote', 'promote-db', 'failed', 'timeout');
  assert.equal(
    continued.describe('verify', 'succeeded'),
    'succeeded with 1 failed step (continued) — status-page: exit code 3',
  );
  assert.equal(continued.describe('promote', 'failed'), 'failed');
  assert.equal(continued.describe('confirm', 'succeeded'), 'succeeded');
});

test('phoenix failover prints "succeeded with 1 failed step (continued)" and the reason for that stage in plain progress', async () => {
  const world = continuedWorld();
  try {
    const result = await runCli(['failover', '--config', world.file, '--yes']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /stage verify: succeeded with 1 failed step \(continued\) — status-page: .+/);
    assert.match(result.stderr, /stage promote: succeeded\n/);
  } finally {
    world.cleanup();
  }
});

test(
  'the listr2 progress in a terminal titles that stage "succeeded with 1 failed step (continued)" with the reason',
  { skip: needFiles([SCRIPT], 'install the Debian package bsdutils (script)') },
  async () => {
    const world = continuedWorld();
    try {
      const cli = `${process.execPath} ${PHOENIX_CLI} failover --config ${world.file} --yes`;
      // script(1) gives the CLI a terminal, so it draws its listr2 task list.
      const output = await new Promise<string>((done, fail) =>
        execFile(
          SCRIPT,
          ['-qec', `stty cols 200 rows 50; ${cli}`, '/dev/null'],
          { cwd: REPO_ROOT, timeout: 120_000 },
          (error, stdout) => (error ? fail(new Error(`${error.message}\n${stdout}`)) : done(stdout)),
        ),
      );
      // eslint-disable-next-line no-control-regex
      const text = output.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
      assert.match(text, /verify: succeeded with 1 failed step \(continued\) — status-page: /);
    } finally {
      world.cleanup();
    }
  },
);
