import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/index.js';
import { openDatabase } from '../store/index.js';
import { SiteStateStore } from '../lifecycle/index.js';
import { closedPort } from '../../test/helpers/servers.js';
import { FakeCloudflare } from '../stand-ins/cloudflare/dns.js';
import { spawnSync } from 'node:child_process';
import {
  buildPlan,
  Journal,
  readiness,
  resumeInterruptedRuns,
  CooldownError,
  RunBusyError,
  RunbookEngine,
  formatReport,
  type RunEvent,
} from './index.js';

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-engine-'));
  return { dir, db: join(dir, 'phoenix.db'), log: join(dir, 'steps.log') };
}

/** A command step that appends its name to the log file, so the test sees what ran and in what order. */
function logStep(name: string, log: string, extra: Record<string, unknown> = {}, script = '') {
  return {
    name,
    type: 'command',
    params: { command: 'sh', args: ['-c', `${script}echo "${name} $PHOENIX_ATTEMPT" >> "${log}"`] },
    ...extra,
  };
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : [];
}

function configFor(dbPath: string, runbooks: Record<string, unknown>) {
  return parseConfig({
    store: { path: dbPath },
    topology: { primary: { cloud: 'aws' }, dr: { cloud: 'azure', rpo_budget_s: 300 } },
    runbooks,
  });
}

test('stages run in order, a parallel stage runs its steps together, and the report is kept in the store', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: {
      stages: [
        { name: 'confirm', steps: [logStep('a', w.log)] },
        {
          name: 'together',
          parallel: true,
          steps: [
            logStep('b1', w.log, {}, `echo b1-start >> "${w.log}"; sleep 0.3; `),
            logStep('b2', w.log, {}, `echo b2-start >> "${w.log}"; sleep 0.3; `),
          ],
        },
        { name: 'last', steps: [logStep('c', w.log)] },
      ],
    },
  });
  const db = openDatabase(w.db);
  const events: RunEvent[] = [];
  const engine = new RunbookEngine({ db, config, pollMs: 50, onEvent: (e) => events.push(e) });
  const handle = await engine.start('dr_failover', { trigger: 'test' });
  const report = await handle.done;
  assert.equal(report.status, 'succeeded');
  const log = lines(w.log);
  assert.equal(log[0], 'a 1');
  assert.equal(log.at(-1), 'c 1');
  // Both parallel steps started before either finished.
  assert.deepEqual(log.slice(1, 3).sort(), ['b1-start', 'b2-start']);
  assert.deepEqual(
    report.stages.map((s) => [s.name, s.status]),
    [
      ['confirm', 'succeeded'],
      ['together', 'succeeded'],
      ['last', 'succeeded'],
    ],
  );
  assert.ok(report.stages.every((s) => typeof s.duration_s === 'number' && s.duration_s >= 0));
  assert.ok(report.total_s !== null && report.total_s >= 0.3);
  const stored = await new Journal(openDatabase(w.db)).requireRun(handle.runId);
  assert.equal(stored.status, 'succeeded');
  assert.equal(stored.active, null);
  assert.equal(JSON.parse(stored.report_json!).stages.length, 3);
  assert.ok(events.some((e) => e.type === 'stage' && e.stage === 'last' && e.status === 'succeeded'));
  db.close();
});

test('a failed attempt is retried after its backoff, and every attempt is journaled', async () => {
  const w = workspace();
  const marker = join(w.dir, 'failed-once');
  const config = configFor(w.db, {
    self_heal: {
      stages: [
        {
          name: 'heal',
          steps: [
            {
              ...logStep(
                'flaky',
                w.log,
                {},
                `if [ ! -f "${marker}" ]; then touch "${marker}"; echo boom >&2; exit 3; fi; `,
              ),
              retries: 2,
              backoff: { initial: 0.1 },
            },
          ],
        },
      ],
    },
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, pollMs: 50 });
  const handle = await engine.start('self_heal');
  const report = await handle.done;
  assert.equal(report.status, 'succeeded');
  assert.deepEqual(lines(w.log), ['flaky 2']);
  const attempts = await engine.journal.attempts(handle.runId);
  assert.deepEqual(
    attempts.map((a) => [a.attempt, a.outcome]),
    [
      [1, 'failed'],
      [2, 'succeeded'],
    ],
  );
  assert.match(attempts[0].error!, /exited with 3: boom/);
  db.close();
});

test('a step that runs past its timeout fails the run with a message naming the timeout; continue_on_error lets a run go on', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    self_heal: {
      stages: [
        {
          name: 'one',
          steps: [
            { name: 'optional', type: 'command', params: { command: 'false' }, continue_on_error: true },
            { name: 'slow', type: 'command', params: { command: 'sleep', args: ['5'] }, timeout: 0.3 },
          ],
        },
        { name: 'two', steps: [logStep('never', w.log)] },
      ],
    },
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, pollMs: 50 });
  const report = await (await engine.start('self_heal')).done;
  assert.equal(report.status, 'failed');
  assert.match(report.error!, /slow: timed out after 0.3s/);
  assert.deepEqual(
    report.steps.map((s) => [s.name, s.status]),
    [
      ['optional', 'failed'],
      ['slow', 'failed'],
      ['never', 'pending'],
    ],
  );
  assert.deepEqual(lines(w.log), []);
  db.close();
});

test('a run whose every step failed under continue_on_error is failed, not succeeded; one that did something still succeeds', async () => {
  const w = workspace();
  const failing = (name: string) => ({
    name,
    type: 'command',
    params: { command: 'false' },
    continue_on_error: true,
  });
  const config = configFor(w.db, {
    self_heal: {
      stages: [
        { name: 'one', steps: [failing('a')] },
        { name: 'two', steps: [failing('b')] },
      ],
    },
    region_failover: { stages: [{ name: 'one', steps: [failing('c'), logStep('d', w.log)] }] },
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, pollMs: 50 });
  const nothing = await (await engine.start('self_heal')).done;
  assert.equal(nothing.status, 'failed');
  assert.match(nothing.error!, /every step failed \(each continue_on_error\): a, b/);
  const partly = await (await engine.start('region_failover')).done;
  assert.equal(partly.status, 'succeeded');
  db.close();
});

// A DR failover whose whole traffic stage failed (each DNS step under continue_on_error: a switch and
// its fallback, both unable to reach their server) while a later stage worked: traffic never moved, so
// the run must not say it succeeded nor mark DR as serving. A stage with a dns step is required by default.
test('a traffic stage whose every step failed under continue_on_error fails the run there, and the site stays on the primary', async () => {
  const w = workspace();
  const port = await closedPort();
  const dnsSwitch = (name: string) => ({
    name,
    type: 'dns',
    timeout: '3s',
    continue_on_error: true,
    params: {
      provider: 'rfc2136',
      server: '127.0.0.1',
      port,
      tsig: { name: 'phoenix-key', secret: Buffer.from('not a real key').toString('base64') },
      zone: 'example.com',
      name: 'app.example.com',
      type: 'A',
      value: '10.0.0.2',
    },
  });
  const config = configFor(w.db, {
    dr_failover: {
      stages: [
        { name: 'traffic', steps: [dnsSwitch('traffic-manager'), dnsSwitch('route53')] },
        { name: 'notify', steps: [logStep('tell-oncall', w.log)] },
      ],
    },
  });
  const db = openDatabase(w.db);
  const sites = new SiteStateStore(db);
  const engine = new RunbookEngine({ db, config, pollMs: 50, sites });
  const report = await (await engine.start('dr_failover')).done;
  assert.equal(report.status, 'failed');
  assert.deepEqual(
    report.steps.map((s) => [s.name, s.status]),
    [
      ['traffic-manager', 'failed'],
      ['route53', 'failed'],
      ['tell-oncall', 'pending'],
    ],
    'nothing after the traffic stage runs as if traffic had moved',
  );
  assert.match(
    report.error!,
    /stage traffic did nothing: every step failed \(each continue_on_error\): traffic-manager, route53; the stage is required/,
  );
  assert.equal(report.stages[0]!.status, 'failed');
  const state = await sites.current();
  assert.equal(state.state, 'primary_active', 'DR is not marked as serving');
  assert.equal(state.active_site, 'primary');
  db.close();
});

// The other side of the same question: a failover that fails after its traffic stage moved traffic
// (a later step without continue_on_error) must not put the site state back on the primary, which
// users no longer reach: DR serves, and the old primary, not fenced, is fence_pending.
test('a failover that fails after its traffic stage moved traffic leaves DR serving, the old primary fence_pending', async () => {
  const w = workspace();
  const cloudflare = await new FakeCloudflare('cf-zone-1', 'example.com', 'cf-token').start();
  try {
    cloudflare.seed('live1', 'app.example.com', '198.51.100.1');
    const config = configFor(w.db, {
      dr_failover: {
        stages: [
          {
            name: 'traffic',
            steps: [
              {
                name: 'switch',
                type: 'dns',
                params: {
                  ...cloudflare.access(),
                  name: 'app.example.com',
                  type: 'A',
                  value: '203.0.113.7',
                  ttl: 60,
                },
              },
            ],
          },
          { name: 'verify', steps: [{ name: 'smoke', type: 'command', params: { command: 'false' } }] },
        ],
      },
    });
    const db = openDatabase(w.db);
    const sites = new SiteStateStore(db);
    const engine = new RunbookEngine({ db, config, pollMs: 50, sites });
    const report = await (await engine.start('dr_failover')).done;
    assert.equal(report.status, 'failed');
    assert.deepEqual(
      cloudflare.records.map((r) => r.content),
      ['203.0.113.7'],
      'traffic moved',
    );
    const state = await sites.current();
    assert.equal(state.state, 'dr_active', 'users reach DR: the site state says so');
    assert.equal(state.active_site, 'dr');
    assert.equal(state.old_primary?.fence, 'fence_pending');
    db.close();
  } finally {
    await cloudflare.stop();
  }
});

// The fence-pending design: a fence stage that could not reach a dead primary did nothing, and the
// failover goes on; the run succeeds (traffic moved) but its report names the stage that did nothing.
test('a stage that is not required and did nothing leaves the run succeeded, and the report names it', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: {
      stages: [
        {
          name: 'fence',
          steps: [
            { name: 'fence-db', type: 'command', params: { command: 'false' }, continue_on_error: true },
          ],
        },
        { name: 'traffic', steps: [logStep('switch', w.log)] },
      ],
    },
  });
  const db = openDatabase(w.db);
  const sites = new SiteStateStore(db);
  const engine = new RunbookEngine({ db, config, pollMs: 50, sites });
  const report = await (await engine.start('dr_failover')).done;
  assert.equal(report.status, 'succeeded');
  assert.deepEqual(report.stages_without_effect, [{ stage: 'fence', failed_steps: ['fence-db'] }]);
  assert.match(
    formatReport(report),
    /did nothing: stage fence \(every step failed, each continue_on_error: fence-db\)/,
  );
  assert.equal((await sites.current()).state, 'dr_active');
  db.close();
});

test('a stage with a dns step is required unless it says required: false; other stages are not', () => {
  const dnsStep = {
    name: 'switch',
    type: 'dns',
    continue_on_error: true,
    params: {
      provider: 'rfc2136',
      server: '127.0.0.1',
      tsig: { name: 'phoenix-key', secret: Buffer.from('not a real key').toString('base64') },

      zone: 'example.com',
      name: 'app.example.com',
      type: 'A',
      value: '10.0.0.2',
    },
  };
  const config = configFor('/nonexistent/phoenix.db', {
    dr_failover: {
      stages: [
        { name: 'fence', steps: [{ name: 'f', type: 'command', params: { command: 'true' } }] },
        { name: 'dns', steps: [dnsStep] },
      ],
    },
    region_failover: { stages: [{ name: 'dns', required: false, steps: [dnsStep] }] },
    self_heal: {
      stages: [
        {
          name: 'restart',
          required: true,
          steps: [{ name: 'r', type: 'command', params: { command: 'true' } }],
        },
      ],
    },
  });
  assert.deepEqual(
    buildPlan(config, 'dr_failover').stages.map((s) => [s.name, s.required]),
    [
      ['fence', false],
      ['dns', true],
    ],
  );
  assert.equal(buildPlan(config, 'region_failover').stages[0]!.required, false);
  assert.equal(buildPlan(config, 'self_heal').stages[0]!.required, true);
});

test('a fallback (only_if_failed) runs only when its step failed, and is skipped as not needed otherwise', async () => {
  const w = workspace();
  const fallbackRunbook = (dataPlane: Record<string, unknown>) => ({
    stages: [
      {
        name: 'dns',
        steps: [
          { name: 'data-plane', continue_on_error: true, ...dataPlane },
          logStep('control-plane', w.log, { only_if_failed: 'data-plane' }),
        ],
      },
      { name: 'verify', steps: [logStep('verify', w.log)] },
    ],
  });
  const config = configFor(w.db, {
    dr_failover: fallbackRunbook(logStep('data-plane', w.log)),
    self_heal: fallbackRunbook({ type: 'command', params: { command: 'false' } }),
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, pollMs: 50 });
  const worked = await (await engine.start('dr_failover')).done;
  assert.equal(worked.status, 'succeeded');
  assert.deepEqual(
    worked.steps.map((s) => [s.name, s.status, s.summary]),
    [
      ['data-plane', 'succeeded', worked.steps[0].summary],
      ['control-plane', 'skipped', 'not needed: data-plane succeeded'],
      ['verify', 'succeeded', worked.steps[2].summary],
    ],
  );
  assert.deepEqual(lines(w.log), ['data-plane 1', 'verify 1']);

  const fellBack = await (await engine.start('self_heal')).done;
  assert.equal(fellBack.status, 'succeeded');
  assert.deepEqual(
    fellBack.steps.map((s) => [s.name, s.status]),
    [
      ['data-plane', 'failed'],
      ['control-plane', 'succeeded'],
      ['verify', 'succeeded'],
    ],
  );
  assert.deepEqual(lines(w.log), ['data-plane 1', 'verify 1', 'control-plane 1', 'verify 1']);
  db.close();
});

test('a fallback must name an earlier step that may fail without stopping the run', () => {
  const w = workspace();
  const plan = (steps: unknown[]) =>
    buildPlan(configFor(w.db, { dr_failover: { stages: [{ name: 'dns', steps }] } }), 'dr_failover');
  assert.throws(
    () => plan([logStep('fallback', w.log, { only_if_failed: 'later' }), logStep('later', w.log)]),
    /only_if_failed: later is not a step that runs before fallback/,
  );
  assert.throws(
    () => plan([logStep('first', w.log), logStep('fallback', w.log, { only_if_failed: 'first' })]),
    /first must set continue_on_error: true/,
  );
});

test('an approval gate holds the run until it is approved through another connection to the store', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: {
      stages: [
        { name: 'confirm', steps: [logStep('a', w.log)] },
        { name: 'database', approval: 'required', steps: [logStep('b', w.log)] },
      ],
    },
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, pollMs: 30 });
  const handle = await engine.start('dr_failover');
  const other = new Journal(openDatabase(w.db));
  for (let i = 0; i < 200 && (await other.requireRun(handle.runId)).status !== 'waiting_approval'; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await other.requireRun(handle.runId)).status, 'waiting_approval');
  assert.deepEqual(lines(w.log), ['a 1']);
  assert.deepEqual(await other.approve(handle.runId, 'alice'), ['stage:database']);
  const report = await handle.done;
  assert.equal(report.status, 'succeeded');
  assert.deepEqual(lines(w.log), ['a 1', 'b 1']);
  assert.equal(report.approvals[0].decided_by, 'alice');
  await assert.rejects(other.approve(handle.runId, 'bob'), /already ended \(succeeded\)/);
  db.close();
});

test('autoApprove (--yes) passes gates and records who approved', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: { stages: [{ name: 's', steps: [logStep('a', w.log, { approval: 'required' })] }] },
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, autoApprove: true, pollMs: 30 });
  const report = await (await engine.start('dr_failover')).done;
  assert.equal(report.status, 'succeeded');
  assert.deepEqual(
    report.approvals.map((a) => [a.gate, a.decided_by]),
    [['step:a', 'auto (--yes)']],
  );
  db.close();
});

test('abort from another connection stops the running step and skips the rest', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: {
      stages: [
        {
          name: 'one',
          steps: [{ name: 'long', type: 'command', params: { command: 'sleep', args: ['30'] } }],
        },
        { name: 'two', steps: [logStep('after', w.log)] },
      ],
    },
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, pollMs: 30 });
  const handle = await engine.start('dr_failover');
  const other = new Journal(openDatabase(w.db));
  for (let i = 0; i < 200 && (await other.step(handle.runId, 'long')).status !== 'running'; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const started = Date.now();
  const { ended } = await other.requestAbort(handle.runId, 'bob');
  assert.equal(ended, false, 'a live owner ends the run itself');
  const report = await handle.done;
  assert.ok(Date.now() - started < 10_000, 'the 30 s step was stopped, not waited for');
  assert.equal(report.status, 'aborted');
  assert.equal(report.error, 'aborted by bob');
  assert.deepEqual(
    report.steps.map((s) => [s.name, s.status]),
    [
      ['long', 'aborted'],
      ['after', 'skipped'],
    ],
  );
  assert.deepEqual(lines(w.log), []);
  db.close();
});

test('a second trigger while a run is active joins the same runbook and refuses another, even from another connection', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: {
      stages: [
        {
          name: 'one',
          steps: [{ name: 'wait', type: 'command', params: { command: 'sleep', args: ['1'] } }],
        },
      ],
    },
    self_heal: { stages: [{ name: 'one', steps: [logStep('heal', w.log)] }] },
  });
  const db = openDatabase(w.db);
  const engine = new RunbookEngine({ db, config, pollMs: 30 });
  const first = await engine.start('dr_failover');
  const otherEngine = new RunbookEngine({ db: openDatabase(w.db), config, pollMs: 30 });
  const second = await otherEngine.start('dr_failover');
  assert.equal(second.joined, true);
  assert.equal(second.runId, first.runId);
  await assert.rejects(
    otherEngine.start('self_heal'),
    (error: unknown) =>
      error instanceof RunBusyError &&
      error.activeRunId === first.runId &&
      /is already active, executed by pid \d+.*phoenix abort/.test(error.message),
  );
  const [a, b] = await Promise.all([first.done, second.done]);
  assert.equal(a.status, 'succeeded');
  assert.equal(b.status, 'succeeded');
  assert.equal((await new Journal(db).listRuns()).length, 1);
  // Once it ended, another runbook may start.
  assert.equal((await (await engine.start('self_heal')).done).status, 'succeeded');
  db.close();
});

test('the database refuses a second active run even when two writers race', async () => {
  const w = workspace();
  const a = new Journal(openDatabase(w.db));
  const b = new Journal(openDatabase(w.db));
  const shape = {
    runbook: 'dr_failover',
    trigger: 't',
    plan: {},
    stages: [{ name: 's', steps: [{ name: 'x', type: 'command' }] }],
  };
  // Owner pid 1 is alive on this host (init), so the first run counts as live.
  await a.createRun({ ...shape, owner: { host: hostname(), pid: 1, token: 'a' } });
  await assert.rejects(
    b.createRun({ ...shape, owner: { host: 'elsewhere', pid: 2, token: 'b' } }),
    RunBusyError,
  );
});

/** A run of one stage of command steps left behind by a process that no longer exists. */
async function orphanedRun(journal: Journal, steps: string[]) {
  const dead = spawnSync('true').pid!;
  const run = await journal.createRun({
    runbook: 'dr_failover',
    trigger: 'controller',
    plan: {
      runbook: 'dr_failover',
      stages: [{ name: 'one', parallel: false, steps: steps.map((name) => ({ name, type: 'command' })) }],
    },
    stages: [{ name: 'one', steps: steps.map((name) => ({ name, type: 'command' })) }],
    owner: { host: hostname(), pid: dead, token: 'gone' },
  });
  journal.markLive('gone', false);
  return run;
}

test('resumeInterruptedRuns picks up a run whose process died and finishes only what was left', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: { stages: [{ name: 'one', steps: [logStep('first', w.log), logStep('second', w.log)] }] },
  });
  const db = openDatabase(w.db);
  const journal = new Journal(db);
  // A run left behind by a process that no longer exists, after its first step finished.
  const run = await orphanedRun(journal, ['first', 'second']);
  const { attempt } = await journal.attemptStarted(run.id, 'first');
  await journal.attemptFinished(run.id, 'first', attempt, 'succeeded', {});
  await journal.stepFinished(run.id, 'first', 'succeeded', { summary: 'done before the crash' });
  await journal.attemptStarted(run.id, 'second');
  assert.deepEqual(
    (await journal.interruptedRuns()).map((r) => r.id),
    [run.id],
  );

  const handles = await resumeInterruptedRuns({ db, config, pollMs: 30 });
  assert.equal(handles.length, 1);
  const report = await handles[0].done;
  assert.equal(report.status, 'succeeded');
  assert.deepEqual(lines(w.log), ['second 2']);
  assert.deepEqual(
    (await journal.attempts(run.id)).map((a) => [a.step, a.attempt, a.outcome]),
    [
      ['first', 1, 'succeeded'],
      ['second', 1, 'interrupted'],
      ['second', 2, 'succeeded'],
    ],
  );
  db.close();
});

test("a step's idempotency key is the same after a crash and new after a failure", async () => {
  const w = workspace();
  const keyStep = {
    name: 'call',
    type: 'command',
    params: { command: 'sh', args: ['-c', `echo "$PHOENIX_ATTEMPT $PHOENIX_IDEMPOTENCY_KEY" >> "${w.log}"`] },
  };
  const config = configFor(w.db, { dr_failover: { stages: [{ name: 'one', steps: [keyStep] }] } });
  const db = openDatabase(w.db);
  const journal = new Journal(db);
  const run = await orphanedRun(journal, ['call']);
  // Attempt 1 failed (its receiver answered): the next attempt is a new request. Attempt 2 was cut
  // short by the crash: what it may have sent must be recognised when attempt 3 sends it again.
  const first = await journal.attemptStarted(run.id, 'call');
  assert.equal(first.failed, 0);
  await journal.attemptFinished(run.id, 'call', first.attempt, 'failed', { error: 'HTTP 500' });
  assert.equal((await journal.attemptStarted(run.id, 'call')).failed, 1);
  const [handle] = await resumeInterruptedRuns({ db, config, pollMs: 30 });
  assert.equal((await handle.done).status, 'succeeded');
  assert.deepEqual(lines(w.log), [`3 ${run.id}/call/2`]);
  db.close();
});

test('readiness reports every configured runbook, and a broken runbook as not ready instead of throwing', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: {
      stages: [{ name: 's', steps: [{ name: 'ok', type: 'command', params: { command: 'true' } }] }],
    },
    self_heal: { stages: [{ name: 's', steps: [{ name: 'bad', type: 'command', params: { args: [] } }] }] },
  });
  const result = await readiness(config);
  assert.deepEqual(
    result.map((r) => [r.runbook, r.ok]),
    [
      ['dr_failover', true],
      ['self_heal', false],
    ],
  );
  assert.match(result[1].problems[0], /runbooks\.self_heal\.stages\.0\.steps\.0\.params\.command/);
});

test('a runbook is refused inside the cooldown of its previous run, from any engine, unless an operator overrides it', async () => {
  const w = workspace();
  const config = configFor(w.db, {
    dr_failover: { stages: [{ name: 'one', steps: [logStep('a', w.log)] }] },
  });
  const db = openDatabase(w.db);
  let now = 1_000_000;
  const engine = new RunbookEngine({ db, config, pollMs: 20, clock: () => now });
  assert.equal((await (await engine.start('dr_failover')).done).status, 'succeeded');
  now += 51;
  // Another process on the same store, as a restarted controller would be.
  const other = new RunbookEngine({ db: openDatabase(w.db), config, pollMs: 20, clock: () => now });
  await assert.rejects(
    other.start('dr_failover'),
    (error: Error) =>
      error instanceof CooldownError &&
      /started 51 s ago .*cooldown of 3600 s.*--override-cooldown/.test(error.message),
  );
  const overridden = await other.start('dr_failover', {
    overrideCooldown: 'alice: the first run hit the wrong region',
  });
  assert.equal((await overridden.done).status, 'succeeded');
  assert.equal(
    (await other.journal.requireRun(overridden.runId)).cooldown_override,
    'alice: the first run hit the wrong region',
  );
  assert.deepEqual(lines(w.log), ['a 1', 'a 1']);
  now += 3600;
  assert.equal(
    (await (await other.start('dr_failover')).done).status,
    'succeeded',
    'after the cooldown, no override needed',
  );
});
