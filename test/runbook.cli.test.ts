import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig, parseConfig } from '../src/config/index.js';
import { openDatabase } from '../src/store/index.js';
import { buildPlan, RunbookEngine } from '../src/runbook/index.js';
import { REPO_ROOT, runCli } from './helpers/paths.js';

function writeConfig(runbooks: Record<string, unknown>): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-rbcli-'));
  const file = join(dir, 'phoenix.yaml');
  writeFileSync(
    file,
    stringify({
      store: { path: join(dir, 'phoenix.db') },
      topology: { primary: { cloud: 'aws' }, dr: { cloud: 'azure', rpo_budget_s: 300 } },
      runbooks,
    }),
  );
  return { file, dir };
}

async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(await condition(), `timed out waiting for ${what}`);
}

test('examples/runbook.yaml loads through runbooks.file and every runbook in it builds a valid plan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-example-'));
  const file = join(dir, 'phoenix.yaml');
  writeFileSync(
    file,
    stringify({
      runbooks: { file: resolve(REPO_ROOT, 'examples/runbook.yaml'), replication: 'logical' },
    }),
  );
  // Its secrets are Key Vault and Secrets Manager references: none comes from the environment.
  const config = loadConfig(file, {});
  const plan = buildPlan(config, 'dr_failover');
  assert.deepEqual(
    plan.stages.map((s) => s.name),
    ['confirm', 'fence', 'database', 'app', 'dns', 'verify'],
  );
  assert.equal(plan.stages[1].parallel, true);
  assert.equal(plan.stages[2].approval, true);
  for (const name of ['self_heal', 'reprotect', 'failback'])
    assert.ok(buildPlan(config, name).stages.length > 0);
});

test('a typo in a step parameter is reported with its path and the step name', () => {
  const config = parseConfig({
    runbooks: {
      self_heal: {
        stages: [{ name: 's', steps: [{ name: 'x', type: 'command', params: { comand: 'true' } }] }],
      },
    },
  });
  assert.throws(
    () => buildPlan(config, 'self_heal'),
    /runbooks\.self_heal\.stages\.0\.steps\.0\.params.*(unknown key\(s\) comand|command).*\(step x\)/,
  );
});

test('plan and failover --dry-run print every step with its pre-flight check, exit 1 when not ready, and start nothing', async () => {
  const { file } = writeConfig({
    dr_failover: {
      stages: [
        { name: 'confirm', steps: [{ name: 'ok-step', type: 'command', params: { command: 'true' } }] },
        {
          name: 'infrastructure',
          approval: 'required',
          steps: [
            {
              name: 'apply',
              type: 'terraform',
              params: { dir: '/nonexistent', binary: 'terraform-not-here' },
            },
          ],
        },
      ],
    },
  });
  const plan = await runCli(['plan', '--config', file]);
  assert.equal(plan.code, 1, plan.stderr);
  assert.match(plan.stdout, /runbook dr_failover: NOT ready/);
  assert.match(plan.stdout, /stage infrastructure \(approval required\)/);
  assert.match(plan.stdout, /✓ ok-step \[command\] run true/);
  assert.match(
    plan.stdout,
    /✗ apply \[terraform\].*\n.*FAIL terraform-not-here present: terraform-not-here is not on PATH/,
  );
  const dry = await runCli(['failover', '--dry-run', '--json', '--config', file]);
  assert.equal(dry.code, 1);
  const parsed = JSON.parse(dry.stdout) as { ok: boolean; steps: Array<{ step: string; ok: boolean }> };
  assert.deepEqual(
    parsed.steps.map((s) => [s.step, s.ok]),
    [
      ['ok-step', true],
      ['apply', false],
    ],
  );
  const runs = await runCli(['runs', '--config', file]);
  assert.equal(runs.stdout.trim(), 'no runs yet');
  const refused = await runCli(['failover', '--config', file]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /refusing to start dr_failover without confirmation: pass --yes/);
});

test('approve, abort and a second trigger work from another process through the store', async () => {
  const { file, dir } = writeConfig({
    dr_failover: {
      stages: [
        {
          name: 'database',
          approval: 'required',
          steps: [{ name: 'promote', type: 'command', params: { command: 'true' } }],
        },
        {
          name: 'storage',
          // Long enough to outlast the CLI processes below on a loaded machine; it is aborted.
          steps: [{ name: 'long-sync', type: 'command', params: { command: 'sleep', args: ['600'] } }],
        },
      ],
    },
    self_heal: {
      stages: [{ name: 'heal', steps: [{ name: 'restart', type: 'command', params: { command: 'true' } }] }],
    },
  });
  const config = loadConfig(file);
  const db = openDatabase(join(dir, 'phoenix.db'));
  const engine = new RunbookEngine({ db, config, pollMs: 50 });
  const handle = await engine.start('dr_failover', { trigger: 'test' });
  await until(
    'the approval gate',
    async () => (await engine.journal.requireRun(handle.runId)).status === 'waiting_approval',
  );

  const second = await runCli(['failover', '--yes', '--runbook', 'self_heal', '--config', file]);
  assert.equal(second.code, 2);
  assert.match(
    second.stderr,
    new RegExp(
      `run ${handle.runId} \\(dr_failover, waiting_approval\\) is already active, executed by pid ${process.pid}`,
    ),
  );

  const approved = await runCli(['approve', handle.runId, '--by', 'alice', '--config', file]);
  assert.equal(approved.code, 0, approved.stderr);
  assert.match(approved.stdout, new RegExp(`approved stage:database of ${handle.runId}`));
  await until(
    'the long step',
    async () => (await engine.journal.step(handle.runId, 'long-sync')).status === 'running',
  );

  const listed = await runCli(['runs', '--json', '--config', file]);
  const [run] = listed.stdout
    .trim()
    .split('\n')
    .map(
      (l) => JSON.parse(l) as { run_id: string; status: string; approvals: Array<{ decided_by: string }> },
    );
  assert.equal(run.run_id, handle.runId);
  assert.equal(run.status, 'running');
  assert.equal(run.approvals[0].decided_by, 'alice');

  const aborted = await runCli(['abort', handle.runId, '--by', 'bob', '--config', file]);
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.match(aborted.stdout, /abort requested/);
  const report = await handle.done;
  assert.equal(report.status, 'aborted');
  assert.equal(report.error, 'aborted by bob');
  const again = await runCli(['abort', handle.runId, '--config', file]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already ended \(aborted\); nothing to abort/);
  db.close();
});

test('a confirm stage whose health check finds the primary healthy again ends the run as cleared', async () => {
  const server = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`;
    const { file, dir } = writeConfig({
      dr_failover: {
        stages: [
          {
            name: 'confirm',
            steps: [
              {
                name: 'still-down',
                type: 'health_check',
                params: { checks: [{ url }], tries: 2, interval: 0.05 },
              },
            ],
          },
          { name: 'database', steps: [{ name: 'promote', type: 'command', params: { command: 'false' } }] },
        ],
      },
    });
    const db = openDatabase(join(dir, 'phoenix.db'));
    const engine = new RunbookEngine({ db, config: loadConfig(file), pollMs: 50 });
    const report = await (await engine.start('dr_failover')).done;
    assert.equal(report.status, 'cleared');
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.status]),
      [
        ['still-down', 'succeeded'],
        ['promote', 'skipped'],
      ],
    );
    db.close();
  } finally {
    server.close();
  }
});
