import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/index.js';
import type { Analysis, Decision } from '../core/index.js';
import type { Analyzer } from '../analysis/index.js';
import { SiteStateStore, type SiteEvent } from '../lifecycle/index.js';
import { createRunbookDecisionSink } from '../runbook/index.js';
import { httpServer } from '../../test/helpers/servers.js';
import { buildController, type BuiltController } from './index.js';

/**
 * Everything follows the active site (docs/lifecycle.md): the probes are declared once with
 * {{active.…}} / {{standby.…}}, and the controller probes the site the durable site state says serves.
 */

type Site = Awaited<ReturnType<typeof httpServer>> & { hits: number; healthy: boolean };
const sites: Record<'primary' | 'dr', Site> = {} as never;

before(async () => {
  for (const name of ['primary', 'dr'] as const) {
    const site = { hits: 0, healthy: true } as Site;
    Object.assign(
      site,
      await httpServer((_req, res) => {
        site.hits++;
        res.statusCode = site.healthy ? 200 : 503;
        res.end(site.healthy ? 'ok' : 'down');
      }),
    );
    sites[name] = site;
  }
});
after(async () => {
  await Promise.all(Object.values(sites).map((s) => s.close()));
});

/** The site's own probe and the other site's, declared once; `signals` adds more. */
function siteConfig(extra: Record<string, unknown> = {}, signals: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-site-follow-'));
  return parseConfig({
    interval: 30,
    decision: { analyzer: 'threshold' },
    store: { path: join(dir, 'phoenix.db') },
    probes: {
      timeout: '5s',
      sites: { primary: { app_url: sites.primary.url }, dr: { app_url: sites.dr.url } },
      signals: {
        internal_services: {
          type: 'http_checks',
          targets: [{ name: 'api', url: '{{active.app_url}}/health' }],
        },
        dr_site: { type: 'http', url: '{{standby.app_url}}/health' },
        ...signals,
      },
    },
    ...extra,
  });
}

/** One cycle: which server each signal reached (by the URL the probe reports) and the record. */
async function cycle(built: BuiltController) {
  const record = await built.controller.runCycleNow('test');
  return record;
}

async function apply(store: SiteStateStore, event: SiteEvent, now: number) {
  await store.apply(event, { by: 'test', reason: event.type }, now);
}

test('probes and score follow the active site after a recorded failover, and switch back only when the failback run completes', async () => {
  const config = siteConfig();
  assert.deepEqual(Object.keys(config.site_probes ?? {}).sort(), ['dr', 'primary']);
  const built = await buildController(config);
  const store = new SiteStateStore(built.history!.db);
  try {
    // The primary serves and is down; DR is up.
    sites.primary.healthy = false;
    sites.dr.healthy = true;
    const hits = () => ({ primary: sites.primary.hits, dr: sites.dr.hits });
    let before = hits();
    let record = await cycle(built);
    assert.equal(record.site, 'primary');
    assert.equal(record.signals.internal_services!.status, 'error', 'the serving primary is probed');
    assert.equal(record.signals.dr_site!.status, 'ok', 'dr_site is the standby: DR');
    assert.ok(record.score.score > 0);
    assert.deepEqual(hits(), { primary: before.primary + 1, dr: before.dr + 1 });

    // A recorded failover: DR serves. The same signals now describe DR (internal_services) and the
    // old primary (dr_site, the site to fence and reprotect).
    await apply(store, { type: 'run_started', runbook: 'dr_failover', run_id: 'r1' }, 100);
    record = await cycle(built);
    assert.equal(record.site, 'primary', 'during the failover the primary still serves');
    await apply(
      store,
      { type: 'run_finished', runbook: 'dr_failover', run_id: 'r1', status: 'succeeded', fence: 'fenced' },
      110,
    );
    record = await cycle(built);
    assert.equal(record.site, 'dr');
    assert.equal(record.signals.internal_services!.status, 'ok', 'the serving DR site is probed');
    assert.equal(record.signals.dr_site!.status, 'error', 'the standby is now the old primary');
    assert.equal(record.score.score, 0, 'the score describes the site that serves users');
    assert.equal(record.decision.action, 'none');

    // The way back: reprotect, then a failback run. Until that run completes, DR is probed.
    for (const [event, expected] of [
      [{ type: 'run_started', runbook: 'reprotect', run_id: 'r2' }, 'dr'],
      [{ type: 'run_finished', runbook: 'reprotect', run_id: 'r2', status: 'succeeded' }, 'dr'],
      [{ type: 'run_started', runbook: 'failback', run_id: 'r3' }, 'dr'],
      [{ type: 'run_finished', runbook: 'failback', run_id: 'r3', status: 'failed' }, 'dr'],
      [{ type: 'run_started', runbook: 'failback', run_id: 'r4' }, 'dr'],
    ] as Array<[SiteEvent, string]>) {
      await apply(store, event, 200);
      before = hits();
      record = await cycle(built);
      assert.equal(record.site, expected, `after ${JSON.stringify(event)}`);
      assert.equal(record.signals.internal_services!.status, 'ok');
      assert.deepEqual(hits(), { primary: before.primary + 1, dr: before.dr + 1 });
    }
    sites.primary.healthy = true;
    await apply(store, { type: 'run_finished', runbook: 'failback', run_id: 'r4', status: 'succeeded' }, 300);
    sites.dr.healthy = false;
    record = await cycle(built);
    assert.equal(record.site, 'primary', 'the failback completed: the primary serves again');
    assert.equal(record.signals.internal_services!.status, 'ok', 'the primary is probed again');
    assert.equal(record.signals.dr_site!.status, 'error', 'and DR is the standby again');
  } finally {
    sites.primary.healthy = true;
    sites.dr.healthy = true;
    await built.shutdown();
  }
});

/** An analyzer that always finds a primary-cloud outage DR can fix, with high confidence. */
const alwaysDr: Analyzer = {
  name: 'always-dr',
  gated: true,
  wants: () => true,
  analyze: async (): Promise<Analysis> => ({
    root_cause: 'region down',
    root_cause_category: 'aws_infrastructure',
    confidence: 'high',
    recommended_action: 'trigger_dr',
    reasoning: 'the region is down',
    evidence: [],
    analyzer: 'always-dr',
    dr_ready: { ready: true, reasons: [] },
  }),
};

test('while DR serves the controller never starts a failover (not "back" to the old primary either): the decision core holds it and the sink refuses it', async () => {
  const config = siteConfig({
    scoring: { levels: { self_heal: 0, region_failover: 0, dr_failover: 0 } },
    decision: { analyzer: 'threshold', cooldown: 0 },
    runbooks: {
      dr_failover: {
        stages: [{ name: 'go', steps: [{ name: 'switch', type: 'command', params: { command: 'true' } }] }],
      },
    },
  });
  const workDir = mkdtempSync(join(tmpdir(), 'phoenix-site-follow-runs-'));
  const outcomes: string[] = [];
  const holder: { sink?: ReturnType<typeof createRunbookDecisionSink> } = {};
  const built = await buildController(config, {
    sink: {
      onDecision: async (decision: Decision) => {
        const outcome = await holder.sink!.onDecision(decision);
        outcomes.push(outcome.kind);
        if (outcome.kind === 'started') await outcome.handle.done;
        return outcome;
      },
    },
  });
  const store = new SiteStateStore(built.history!.db);
  holder.sink = createRunbookDecisionSink({
    db: built.history!.db,
    config,
    autoApprove: true,
    workDir,
    sites: store,
  });
  // Swap in the analyzer that always recommends DR, as the engine would get it.
  (built.controller as unknown as { engine: { analyzer: Analyzer } }).engine.analyzer = alwaysDr;
  try {
    sites.primary.healthy = false;
    sites.dr.healthy = false;
    // Control: while the primary serves, the same input fails over (and the run moves the site state).
    let record = await cycle(built);
    assert.equal(record.decision.action, 'dr_failover', record.decision.reason);
    assert.deepEqual(outcomes, ['started']);
    const state = await store.current();
    assert.equal(state.active_site, 'dr');
    assert.equal(state.state, 'dr_active');

    // DR serves and fails as badly: every cycle is held by the decision core with the site as the reason.
    for (let i = 0; i < 3; i++) {
      record = await cycle(built);
      assert.equal(record.site, 'dr');
      // Held back, a recommended DR escalates to a person (as every held failover does); it starts nothing.
      assert.equal(record.decision.action, 'escalate');
      assert.ok(
        record.decision.blocked_by.some((b) => /dr serves \(site state dr_active\)/.test(b)),
        record.decision.blocked_by.join('; '),
      );
    }
    // Even a failover decision reaching the sink directly is refused while DR serves.
    const refused = await holder.sink.onDecision({ ...record.decision, action: 'dr_failover' });
    assert.equal(refused.kind, 'refused');
    assert.match((refused as { reason: string }).reason, /only while the primary serves/);
    assert.deepEqual(outcomes, ['started', 'ignored', 'ignored', 'ignored']);
    const runs = await holder.sink.engine.journal.listRuns(10);
    assert.equal(runs.length, 1, 'the one failover from the primary, nothing after it');
  } finally {
    sites.primary.healthy = true;
    sites.dr.healthy = true;
    await built.shutdown();
  }
});

/** Records a failover to DR whose fence held, as the runbook engine does. */
async function failedOverToDr(store: SiteStateStore) {
  await apply(store, { type: 'run_started', runbook: 'dr_failover', run_id: 'f1' }, 100);
  await apply(
    store,
    { type: 'run_finished', runbook: 'dr_failover', run_id: 'f1', status: 'succeeded', fence: 'fenced' },
    110,
  );
}

test('while DR serves, signals that do not describe it (a probe written for the primary, the old primary as standby) are probed and recorded but neither scored nor acted on; DR failing its own probes still self-heals', async () => {
  const config = siteConfig(
    { decision: { analyzer: 'threshold', cooldown: 0 } },
    {
      // Written for the primary, without a placeholder: after a failover it still reaches the old primary.
      cross_cloud: { type: 'http', url: `${sites.primary.url}/health` },
      // The pair of sites: with DR serving its other end is the old primary.
      db_replication_lag: { type: 'http', url: '{{standby.app_url}}/health?from={{active.app_url}}' },
    },
  );
  const built = await buildController(config);
  const store = new SiteStateStore(built.history!.db);
  try {
    await failedOverToDr(store);
    // The old primary is dead, as after a regional outage; DR serves and is healthy.
    sites.primary.healthy = false;
    sites.dr.healthy = true;
    for (let i = 0; i < 3; i++) {
      const record = await cycle(built);
      assert.equal(record.site, 'dr');
      // Probed and recorded as they are…
      assert.equal(record.signals.cross_cloud!.status, 'error');
      assert.equal(record.signals.db_replication_lag!.status, 'error');
      // …but the old primary's trouble is not the serving site's: no score, no self_heal of DR for it.
      assert.equal(record.score.score, 0, JSON.stringify(record.score.contributions));
      assert.equal(record.decision.action, 'none', record.decision.reason);
      assert.ok(
        record.score.notes.some((n) => /cross_cloud, db_replication_lag/.test(n) && /not scored/.test(n)),
        record.score.notes.join('; '),
      );
    }
    // DR's own probe fails: a self_heal of the serving site is what the controller decides.
    sites.dr.healthy = false;
    const record = await cycle(built);
    assert.equal(record.signals.internal_services!.status, 'error');
    assert.equal(record.score.score, 5);
    assert.equal(record.decision.action, 'self_heal', record.decision.reason);
  } finally {
    sites.primary.healthy = true;
    sites.dr.healthy = true;
    await built.shutdown();
  }
});

test("a replication probe naming both sites is scored again once reprotect has built the reverse replication (reverse_protected): it then describes the serving site's protection; before that, and while the failback run cuts it over, it is recorded only", async () => {
  const config = siteConfig(
    { decision: { analyzer: 'threshold', cooldown: 0 } },
    // The pair: the serving site publishes, the standby follows (after reprotect: the old primary).
    { db_replication_lag: { type: 'http', url: '{{standby.app_url}}/health?from={{active.app_url}}' } },
  );
  const built = await buildController(config);
  const store = new SiteStateStore(built.history!.db);
  const scored = (record: Awaited<ReturnType<typeof cycle>>) =>
    record.score.contributions.some((c) => c.signal === 'db_replication_lag' && c.weight > 0);
  try {
    await failedOverToDr(store);
    // DR serves and is healthy; the follower (the old primary) fails its replication probe.
    sites.primary.healthy = false;
    sites.dr.healthy = true;
    // dr_active: no reverse replication exists yet, the old primary's trouble is not the serving site's.
    let record = await cycle(built);
    assert.equal(record.signals.db_replication_lag!.status, 'error');
    assert.ok(!scored(record), JSON.stringify(record.score.contributions));
    await apply(store, { type: 'run_started', runbook: 'reprotect', run_id: 'p1' }, 200);
    record = await cycle(built);
    assert.ok(!scored(record), 'reprotecting: the replication is being built');
    await apply(
      store,
      { type: 'run_finished', runbook: 'reprotect', run_id: 'p1', status: 'succeeded' },
      210,
    );
    // reverse_protected: DR's data is protected by the old primary; its replication failing is DR's risk.
    record = await cycle(built);
    assert.equal(record.site, 'dr');
    assert.ok(scored(record), JSON.stringify(record.score.contributions));
    assert.ok(
      !record.score.notes.some((n) => /db_replication_lag/.test(n) && /not scored/.test(n)),
      record.score.notes.join('; '),
    );
    // The failback run cuts the replication over on purpose: recorded, not scored.
    await apply(store, { type: 'run_started', runbook: 'failback', run_id: 'p2' }, 300);
    record = await cycle(built);
    assert.ok(!scored(record), 'failing_back: the run cuts the replication over');
  } finally {
    sites.primary.healthy = true;
    sites.dr.healthy = true;
    await built.shutdown();
  }
});

test('a self_heal runbook acts on the site it names (runbooks.self_heal.site): while DR serves, one written for the primary is refused with the reason, one for DR runs', async () => {
  const heal = (site: string) => ({
    site,
    stages: [{ name: 'restart', steps: [{ name: 'restart', type: 'command', params: { command: 'true' } }] }],
  });
  for (const site of ['primary', 'dr']) {
    const config = siteConfig({
      decision: { analyzer: 'threshold', cooldown: 0 },
      runbooks: { self_heal: heal(site) },
    });
    const built = await buildController(config);
    const store = new SiteStateStore(built.history!.db);
    const sink = createRunbookDecisionSink({
      db: built.history!.db,
      config,
      autoApprove: true,
      workDir: mkdtempSync(join(tmpdir(), 'phoenix-site-heal-')),
      sites: store,
    });
    try {
      await failedOverToDr(store);
      sites.dr.healthy = false;
      const record = await cycle(built);
      assert.equal(record.decision.action, 'self_heal', record.decision.reason);
      const outcome = await sink.onDecision(record.decision);
      if (outcome.kind === 'started') await outcome.handle.done;
      if (site === 'primary') {
        assert.equal(outcome.kind, 'refused', JSON.stringify(outcome));
        assert.match(
          (outcome as { reason: string }).reason,
          /self_heal acts on primary \(runbooks\.self_heal\.site\).*dr serves/,
        );
      } else assert.equal(outcome.kind, 'started', JSON.stringify(outcome));
    } finally {
      sites.dr.healthy = true;
      await built.shutdown();
    }
  }
});

test("with one set of probes (no probes.sites) and DR serving, nothing describes DR: the controller decides no action on the old primary's signals and says how to make the probes follow the site", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-site-follow-fixed-'));
  const config = parseConfig({
    interval: 30,
    decision: { analyzer: 'threshold', cooldown: 0 },
    store: { path: join(dir, 'phoenix.db') },
    probes: {
      timeout: '5s',
      signals: {
        internal_services: {
          type: 'http_checks',
          targets: [{ name: 'api', url: `${sites.primary.url}/health` }],
        },
        cross_cloud: { type: 'http', url: `${sites.primary.url}/health` },
      },
    },
  });
  const built = await buildController(config);
  const store = new SiteStateStore(built.history!.db);
  try {
    sites.primary.healthy = false;
    // Control: while the primary serves, its failing probes are its own and self-heal it.
    let record = await cycle(built);
    assert.equal(record.decision.action, 'self_heal', record.decision.reason);
    await failedOverToDr(store);
    for (let i = 0; i < 3; i++) {
      record = await cycle(built);
      assert.equal(record.site, 'dr');
      assert.equal(record.signals.internal_services!.status, 'error', 'still probed and recorded');
      assert.equal(record.decision.action, 'none', record.decision.reason);
      assert.equal(record.score.score, 0);
      assert.match(record.decision.reason, /no probe describes dr.*probes\.sites/);
    }
  } finally {
    sites.primary.healthy = true;
    await built.shutdown();
  }
});

test('while a run moves traffic between the sites (failing_over, failing_back) no self_heal is decided: the run fences and switches the sites itself', async () => {
  const config = siteConfig({ decision: { analyzer: 'threshold', cooldown: 0 } });
  const built = await buildController(config);
  const store = new SiteStateStore(built.history!.db);
  try {
    // The failover run fences the failing primary: healing it meanwhile would fight the run.
    sites.primary.healthy = false;
    await apply(store, { type: 'run_started', runbook: 'dr_failover', run_id: 'm1' }, 100);
    let record = await cycle(built);
    assert.equal(record.site, 'primary');
    assert.equal(record.signals.internal_services!.status, 'error');
    assert.equal(record.decision.action, 'none', record.decision.reason);
    assert.match(record.decision.blocked_by.join('; '), /failing_over \(run m1\)/);
    await apply(
      store,
      { type: 'run_finished', runbook: 'dr_failover', run_id: 'm1', status: 'succeeded', fence: 'fenced' },
      110,
    );
    // The failback run fences DR before it switches traffic back: DR's probes fail on purpose.
    sites.primary.healthy = true;
    await apply(store, { type: 'run_started', runbook: 'failback', run_id: 'm2' }, 200);
    sites.dr.healthy = false;
    record = await cycle(built);
    assert.equal(record.site, 'dr');
    assert.equal(record.signals.internal_services!.status, 'error');
    assert.equal(record.decision.action, 'none', record.decision.reason);
    assert.match(record.decision.blocked_by.join('; '), /failing_back \(run m2\)/);
    // Control: the failback failed, DR serves on and fails: its own self_heal is decided.
    await apply(store, { type: 'run_finished', runbook: 'failback', run_id: 'm2', status: 'failed' }, 210);
    record = await cycle(built);
    assert.equal(record.decision.action, 'self_heal', record.decision.reason);
  } finally {
    sites.primary.healthy = true;
    sites.dr.healthy = true;
    await built.shutdown();
  }
});
