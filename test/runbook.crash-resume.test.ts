import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import Database from 'better-sqlite3';
import { startCli, waitFor } from './helpers/ha.js';

const STAGES = ['confirm', 'database', 'storage', 'infrastructure', 'deploy', 'dns', 'verify', 'fence'];

/**
 * Each stage has two steps: `<stage>-a` finishes at once; `<stage>-b` sleeps the first time
 * it runs, and the test SIGKILLs the whole process group then, in the middle of that stage.
 * A step writes `start NAME` when it begins and `done NAME` when it completes, without any
 * guard of its own, so the log shows exactly what the engine ran.
 */
function writeConfig(dir: string): string {
  const log = join(dir, 'steps.log');
  const step = (name: string, crash: boolean) => ({
    name,
    type: 'command',
    params: {
      command: 'sh',
      args: [
        '-c',
        [
          `echo "start $PHOENIX_STEP" >> "${log}"`,
          crash
            ? `if [ ! -f "${dir}/slept-$PHOENIX_STEP" ]; then touch "${dir}/slept-$PHOENIX_STEP"; sleep 60; fi`
            : ':',
          `echo "done $PHOENIX_STEP" >> "${log}"`,
        ].join('\n'),
      ],
    },
  });
  const config = {
    store: { path: join(dir, 'phoenix.db') },
    runbooks: {
      dr_failover: {
        stages: STAGES.map((stage) => ({
          name: stage,
          parallel: stage === 'storage',
          steps: [step(`${stage}-a`, false), step(`${stage}-b`, true)],
        })),
      },
    },
  };
  const file = join(dir, 'phoenix.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

function journalQuery<T>(dir: string, sql: string, params: unknown[]): T | undefined {
  const db = new Database(join(dir, 'phoenix.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).get(...params) as T | undefined;
  } finally {
    db.close();
  }
}

test('a failover SIGKILLed in the middle of every stage resumes and runs every step to completion exactly once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-crash-'));
  const config = writeConfig(dir);
  const log = join(dir, 'steps.log');
  const logLines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  const running: ChildProcess[] = [];
  try {
    let cli = startCli(['failover', '--yes', '--config', config]);
    running.push(cli.child);
    let runId: string | undefined;
    for (const stage of STAGES) {
      await waitFor(`${stage}-b to start (output: ${cli.output()})`, () => {
        const lines = logLines();
        return lines.includes(`start ${stage}-b`) && existsSync(join(dir, `slept-${stage}-b`));
      });
      if (!runId) runId = journalQuery<{ id: string }>(dir, 'SELECT id FROM runbook_runs', [])!.id;
      // A step counts as completed once the journal says so (in the parallel stage, -a may
      // still be between its last output and its journal entry).
      await waitFor(`${stage}-a in the journal`, () => {
        const row = journalQuery<{ status: string }>(dir, 'SELECT status FROM runbook_steps WHERE name = ?', [
          `${stage}-a`,
        ]);
        return row?.status === 'succeeded';
      });
      // The whole process group: the CLI and the step it is running, as a power cut would.
      process.kill(-cli.child.pid!, 'SIGKILL');
      assert.equal(await cli.exit, 137);
      cli = startCli(['failover', '--resume', runId, '--yes', '--config', config]);
      running.push(cli.child);
    }
    const code = await cli.exit;
    assert.equal(code, 0, cli.output());
    assert.match(cli.output(), /succeeded/);

    const lines = logLines();
    for (const stage of STAGES) {
      for (const name of [`${stage}-a`, `${stage}-b`]) {
        assert.equal(lines.filter((l) => l === `done ${name}`).length, 1, `${name} completed exactly once`);
      }
      // The quick step had finished before the kill and was not run again...
      assert.equal(lines.filter((l) => l === `start ${stage}-a`).length, 1, `${stage}-a started once`);
      // ...the step cut short was run again, once.
      assert.equal(
        lines.filter((l) => l === `start ${stage}-b`).length,
        2,
        `${stage}-b re-run once after the kill`,
      );
    }
    // Completion order follows the stages.
    const done = lines.filter((l) => l.startsWith('done ')).map((l) => l.slice(5).replace(/-[ab]$/, ''));
    assert.deepEqual([...new Set(done)], STAGES);

    const db = new Database(join(dir, 'phoenix.db'), { readonly: true });
    const run = db
      .prepare('SELECT status, active, report_json FROM runbook_runs WHERE id = ?')
      .get(runId) as {
      status: string;
      active: number | null;
      report_json: string;
    };
    assert.equal(run.status, 'succeeded');
    assert.equal(run.active, null);
    const attempts = db
      .prepare(
        `SELECT step, group_concat(outcome, ',') AS outcomes
         FROM (SELECT * FROM runbook_attempts WHERE run_id = ? ORDER BY step, attempt) GROUP BY step`,
      )
      .all(runId) as Array<{ step: string; outcomes: string }>;
    for (const { step, outcomes } of attempts) {
      assert.equal(outcomes, step.endsWith('-b') ? 'interrupted,succeeded' : 'succeeded', step);
    }
    const report = JSON.parse(run.report_json) as {
      stages: Array<{ name: string; status: string; duration_s: number }>;
    };
    assert.deepEqual(
      report.stages.map((s) => s.status),
      STAGES.map(() => 'succeeded'),
    );
    db.close();
  } finally {
    for (const child of running) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});
