import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Dialog } from 'playwright-core';
import { ReadinessMonitor } from '../../src/runbook/index.js';
import { EvidenceAnalyzer } from '../../src/analysis/evidence/index.js';
import { DEFAULT_TOPOLOGY } from '../../src/core/index.js';
import { DecisionEngine } from '../../src/decision/index.js';
import { SiteStateStore, type SiteEvent } from '../../src/lifecycle/index.js';
import { startServer } from '../../src/server/index.js';
import { siteDeps } from '../../src/server/deps.js';
import { openDatabase } from '../../src/store/index.js';
import { needFiles } from '../helpers/tools.js';
import { DecisionLoop, OPERATE_TOKEN, serverConfig, snapshot } from './harness.js';
import { runbookWorld } from './runbook-world.js';

const CHROMIUM = '/usr/bin/chromium';

test(
  'the dashboard shows the score history, a banner with every site state, its next action and the pause, and approves a waiting stage from the banner',
  { skip: needFiles([CHROMIUM], 'install the Debian package chromium') },
  async () => {
    const world = runbookWorld();
    const loop = new DecisionLoop(world.config, Math.floor(Date.now() / 1000) - 40 * 30);
    // Forty cycles: quiet, then the primary cloud degrading, then a full outage.
    for (let i = 0; i < 40; i++, loop.clock += 30) {
      if (i === 20) loop.next = snapshot({ eks_nodes: 'degraded', internal_services: 'degraded' });
      if (i === 30)
        loop.next = snapshot({
          eks_nodes: 'error',
          internal_services: 'error',
          cross_cloud: 'error',
          aws_cross_region: 'degraded',
        });
      // What a failover now would lose, as postgres_replication measures it: the banner shows it.
      if (i === 30) loop.next.db_replication_lag = { status: 'ok', data_behind_s: 12 };
      await loop.cycle();
    }
    loop.clock -= 30;
    loop.now = () => Math.max(loop.clock, Math.floor(Date.now() / 1000));
    // The run records the decision that started it (cycle 30's): the banner says when it was decided and why.
    const decidedAt = loop.clock - 9 * 30;
    const handle = await world.engine.start('dr_failover', {
      trigger: 'decision',
      reason: 'aws outage',
      decision: {
        cycle_id: null,
        at: decidedAt,
        action: 'dr_failover',
        score: 14,
        level: 'dr_failover',
        category: 'aws_infrastructure',
        confidence: 'high',
        reason: 'score 14 is at level dr_failover',
        evidence: [
          { source: 'signal:eks_nodes', item: 'error', weight: 3, says: 'nodes are NotReady' },
          {
            source: 'signal:aws_cross_region',
            item: 'degraded',
            weight: 2,
            says: 'the primary region’s AWS APIs partly fail from another region',
          },
        ],
      },
    });
    // A runbook whose terraform binary is missing: its pre-flight check fails.
    const readiness = new ReadinessMonitor({
      config: serverConfig(
        {},
        {
          runbooks: {
            dr_failover: {
              stages: [
                {
                  name: 'infrastructure',
                  steps: [
                    {
                      name: 'apply',
                      type: 'terraform',
                      params: { dir: world.dir, binary: '/nonexistent/terraform' },
                    },
                  ],
                },
              ],
            },
          },
        },
      ),
    });
    await readiness.check();
    const sites = new SiteStateStore(openDatabase(':memory:'));
    let failbackReady = false;
    const server = await startServer({
      config: world.config,
      deps: {
        status: loop.recent,
        events: loop.recent,
        trigger: loop,
        runs: world.runs,
        readiness,
        now: loop.now,
        // A follower: the header's badge names the controller that leads.
        leader: () => ({ role: 'follower', self: 'dr-host:41:b7', leader: 'aws-host:7:a1', token: 3 }),
        site: siteDeps(sites, loop.now),
        // The sites as the config declares them, with a secondary region for the region failover at the end.
        topology: { ...DEFAULT_TOPOLOGY, secondary: { cloud: 'aws', region: 'us-west-2' } },
        // After a failover: the rebuilt primary still copies a table, so the way back is not open yet.
        failback: {
          latest: () =>
            failbackReady
              ? {
                  ready: true,
                  reasons: [],
                  subscription: 'phoenix_failback',
                  bytes_behind: 0,
                  lag_s: 0,
                  tables_copying: 0,
                  checked_at: loop.now() - 5,
                  step: 'switch back',
                }
              : {
                  ready: false,
                  reasons: ['the rebuilt primary still copies 1 table'],
                  subscription: 'phoenix_failback',
                  bytes_behind: 8192,
                  lag_s: 4,
                  tables_copying: 1,
                  checked_at: loop.now() - 5,
                  step: 'switch back',
                },
        },
      },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      // The clock the page shows times in, so the test can say which times it must show.
      const page = await browser.newPage({
        viewport: { width: 1280, height: 1100 },
        timezoneId: 'UTC',
        locale: 'en-US',
      });
      const failures: string[] = [];
      page.on('pageerror', (error) => failures.push(error.message));
      page.on('requestfailed', (request) =>
        failures.push(`${request.url()} ${request.failure()?.errorText}`),
      );

      // First visit without a token: the page asks for one.
      await page.goto(server.url);
      await page.waitForSelector('#login:not([hidden])');
      await page.fill('#token', OPERATE_TOKEN);
      await page.click('#login button');

      await page.waitForFunction(() => document.querySelector('#score')?.textContent === '14');
      assert.equal(await page.textContent('#level'), 'dr failover');
      assert.match((await page.textContent('#whoami'))!, /oncall \(operate\)/);
      assert.equal(await page.textContent('#leader:not([hidden])'), 'follower · leader: aws-host:7:a1');
      assert.equal(await page.textContent('#dr-ready'), 'ready');
      assert.match((await page.textContent('#runbook-ready'))!, /^Runbooks: NOT ready · checked \d+ s ago$/);
      assert.match(
        (await page.textContent('#failback-ready:not([hidden])'))!,
        /^Failback: not ready · lag 4 s, 1 table copying · checked \d+ s ago$/,
      );
      assert.equal(
        await page.textContent('#failback-reasons li'),
        'the rebuilt primary still copies 1 table',
      );
      assert.match(
        (await page.textContent('#runbook-failures li'))!,
        /^dr_failover infrastructure\/apply \/nonexistent\/terraform present: .*not on PATH/,
      );

      // The banner on top: the primary serves, automation runs; it reads the site state at each refresh
      // (changing the chart's range refreshes the status at once, as a person's click would).
      let range = '1h';
      const refresh = () => page.selectOption('#range', (range = range === '1h' ? '6h' : '1h'));
      const cause = { by: `runbook:${handle.runId}`, reason: 'dashboard test' };
      /** Waits for the banner in `state` (and the old primary's fence), then checks what it says. */
      const banner = async (
        state: string,
        fence: string,
        headline: string | RegExp,
        detail?: string | RegExp,
      ): Promise<void> => {
        await refresh();
        await page.waitForSelector(
          `#site-banner[data-state="${state}"][data-fence="${fence}"]:not([hidden])`,
        );
        const shown = (await page.textContent('#site-headline'))!;
        if (typeof headline === 'string') assert.equal(shown, headline);
        else assert.match(shown, headline);
        const said = (await page.textContent('#site-detail'))!;
        if (typeof detail === 'string') assert.equal(said, detail);
        else if (detail) assert.match(said, detail);
      };
      const since = async () => hourMinute((await sites.current()).since);
      await banner('primary_active', 'none', 'Traffic on AWS us-east-1');
      assert.equal(await page.textContent('#site-pause'), 'Automation on');
      assert.equal(await page.textContent('#score-site'), 'of the serving site: AWS us-east-1 (primary)');
      // Identical consecutive decisions are one line with a count: the nine cycles the cooldown held.
      const newest = page.locator('.decision').first();
      assert.equal(await newest.locator('.badge').first().textContent(), '9 cycles');
      assert.match((await newest.textContent())!, /held back by: cooldown/);

      // The chart holds every cycle and draws the score and each signal.
      await page.waitForSelector('#chart[data-points="40"] canvas');
      const legend = await page.$$eval('#chart .u-legend .u-series th', (cells) =>
        cells.map((c) => c.textContent?.trim()),
      );
      for (const name of ['score', 'eks_nodes', 'internal_services', 'cross_cloud'])
        assert.ok(legend.includes(name), `legend lacks ${name}: ${legend}`);
      const history = await page.evaluate(async (token) => {
        const r = await fetch('/api/history?since=1h', { headers: { authorization: `Bearer ${token}` } });
        return (await r.json()).points.length;
      }, OPERATE_TOKEN);
      assert.equal(history, 40);

      // Decisions show their reasoning and evidence.
      const decision = page.locator('.decision').first();
      assert.match((await decision.textContent())!, /dr failover/);
      assert.match((await decision.textContent())!, /evidence items \(threshold\)/);

      // The run waits on its promote stage; the button approves it.
      const stage = page.locator(`.run[data-id="${handle.runId}"] .stage[data-stage="promote"]`);
      await stage.and(page.locator('[data-status="waiting_approval"]')).waitFor({ timeout: 15_000 });
      await page.screenshot({ path: join(screenshotDir(), 'dashboard-waiting.png'), fullPage: true });
      assert.equal(existsSync(world.marker), false);
      // The run is the failover: the banner asks for the decision, with the data at risk and the evidence.
      await sites.apply(
        { type: 'run_started', runbook: 'dr_failover', run_id: handle.runId },
        cause,
        loop.now(),
      );
      await banner(
        'failing_over',
        'none',
        `Failover decided at ${clock(decidedAt)}: approve or abort`,
        'Data at risk: 12 s of writes (db_replication_lag) · Evidence: nodes are NotReady; the primary region’s AWS APIs partly fail from another region',
      );
      page.once('dialog', (dialog) => {
        assert.match(dialog.message(), /Approve stage "promote" of run/);
        void dialog.accept();
      });
      await page.click('#site-actions button.approve');
      const report = await handle.done;
      assert.equal(report.status, 'succeeded');
      assert.equal(existsSync(world.marker), true);
      await page
        .locator(`.run[data-id="${handle.runId}"][data-status="succeeded"]`)
        .waitFor({ timeout: 10_000 });
      assert.match((await stage.getAttribute('title'))!, /approved by oncall/);
      await page.screenshot({ path: join(screenshotDir(), 'dashboard-approved.png'), fullPage: true });

      // DR serves; the fence could not reach the old primary, which does not answer yet.
      await sites.apply(
        {
          type: 'run_finished',
          runbook: 'dr_failover',
          run_id: handle.runId,
          status: 'succeeded',
          fence: 'fence_pending',
        },
        cause,
        loop.now(),
      );
      await sites.apply({ type: 'fence_checked', reachable: false, writable: null }, cause, loop.now());
      const checked = (await sites.current()).old_primary!.checked_at!;
      await banner(
        'dr_active',
        'fence_pending',
        `Traffic on Azure eastus2 since ${await since()} (run ${handle.runId})`,
        `Old primary (AWS us-east-1) not fenced yet: the controller fences it the moment it answers (checked at ${clock(checked)}: no answer).`,
      );
      assert.equal(await page.getAttribute('#site-banner', 'class'), 'banner tone-warn');

      // The cycles now describe the serving site (DR), whose own cloud fails: the score card says which site
      // it scores, the readiness card is the old primary's, and the near-identical decisions of the cycles
      // confirming it (their reasons differ only in how long it has lasted) are one line.
      // The probes that follow the serving site, as the loader records them from probes.sites ({{active.*}}).
      const following = {
        ...world.config,
        serving_signals: ['internal_services', 'external_uptime', 'eks_nodes'],
      };
      loop.engine = new DecisionEngine(following, new EvidenceAnalyzer());
      loop.site = { active_site: 'dr', state: 'dr_active' };
      loop.context = {
        azure_status: {
          available: true,
          incidents: [
            {
              name: 'Virtual Machines - East US 2 - connectivity issues',
              status: 'investigating',
              impact: 'major',
            },
          ],
        },
      };
      loop.next = snapshot({ internal_services: 'error', external_uptime: 'error', eks_nodes: 'error' });
      const confirming = 6;
      for (let i = 0; i < confirming; i++, loop.clock += 30) await loop.cycle();
      loop.clock -= 30;
      await refresh();
      // The score card names the site from the site state, the readiness card from the newest cycle: a
      // render between the two may show one before the other, so wait for both.
      await page.waitForFunction(
        () =>
          document.querySelector('#score-site')?.textContent === 'of the serving site: Azure eastus2 (DR)' &&
          document.querySelector('#dr-label')?.textContent ===
            'Readiness of AWS us-east-1 to take traffic back',
      );
      const reasons = new Set(loop.recent.decisions(confirming).map((d) => d.reason));
      assert.ok(
        reasons.size > 1,
        `the confirming cycles' reasons differ (in their numbers): ${[...reasons]}`,
      );
      assert.equal(await newest.locator('.badge').first().textContent(), `${confirming} cycles`);
      assert.match((await newest.textContent())!, /azure infrastructure/);

      // The old primary came back writable before its fence held: the banner turns red.
      await sites.apply({ type: 'fence_checked', reachable: true, writable: true }, cause, loop.now());
      await banner('dr_active', 'fence_pending', 'Old primary back and writable: fencing');
      assert.match((await page.textContent('#site-detail'))!, /^Split-brain risk: AWS us-east-1 took writes/);
      assert.equal(await page.$eval('#site-headline', (n) => getComputedStyle(n).color), 'rgb(197, 48, 48)');
      await page.screenshot({ path: join(screenshotDir(), 'dashboard-split-brain.png'), fullPage: true });

      // Pause through the banner's control: how long and why are asked; the store keeps it.
      const answers = ['2h', 'storage maintenance'];
      const answer = (dialog: Dialog) => void dialog.accept(answers.shift());
      page.on('dialog', answer);
      await page.click('#pause-toggle');
      await page.waitForSelector('#site-banner[data-paused="yes"]');
      page.off('dialog', answer);
      assert.match(
        (await page.textContent('#site-pause'))!,
        /^Automation paused until .+ by oncall: storage maintenance$/,
      );
      assert.match((await page.textContent('#site-next'))!, /\(automation paused\)$/);
      assert.equal(await page.textContent('#pause-toggle'), 'Resume automation');
      assert.equal((await sites.pause(loop.now()))?.reason, 'storage maintenance');

      // The fence held: DR serves, the next step is reprotect.
      await sites.apply({ type: 'fence_held', run_id: null }, cause, loop.now());
      await banner(
        'dr_active',
        'fenced',
        `Traffic on Azure eastus2 since ${await since()} (run ${handle.runId})`,
        'Reprotect when AWS us-east-1 is healthy.',
      );
      assert.equal(await page.getAttribute('#site-banner', 'class'), 'banner tone-warn');

      // Resume through the same control: a confirmation, then automation is on again.
      page.once('dialog', (dialog) => {
        assert.match(dialog.message(), /^Resume automation\?/);
        void dialog.accept();
      });
      await page.click('#pause-toggle');
      await page.waitForSelector('#site-banner[data-paused="no"]');
      assert.equal(await page.textContent('#site-pause'), 'Automation on');
      assert.equal(await page.getAttribute('#site-banner', 'class'), 'banner tone-ok');

      // The way back: reprotect, reverse-protected (failback readiness decides the words), failback.
      const step = (event: SiteEvent) => sites.apply(event, cause, loop.now());
      await step({ type: 'run_started', runbook: 'reprotect', run_id: 'reprotect-1' });
      await banner(
        'reprotecting',
        'fenced',
        'Reprotecting AWS us-east-1 (run reprotect-1)',
        `Traffic on Azure eastus2 since ${await since()}.`,
      );
      await step({ type: 'run_finished', runbook: 'reprotect', run_id: 'reprotect-1', status: 'succeeded' });
      await banner(
        'reverse_protected',
        'fenced',
        'Reprotected: fail back when the way back has caught up',
        `Traffic on Azure eastus2 since ${await since()}; failback to AWS us-east-1 not ready: the rebuilt primary still copies 1 table.`,
      );
      failbackReady = true;
      await page.waitForFunction(
        () => document.querySelector('#site-headline')?.textContent === 'Ready to fail back',
      );
      assert.equal(
        await page.textContent('#site-detail'),
        `Traffic on Azure eastus2 since ${await since()}; fail back to AWS us-east-1 at a quiet hour (phoenix failback).`,
      );
      await step({ type: 'run_started', runbook: 'failback', run_id: 'failback-1' });
      await banner(
        'failing_back',
        'fenced',
        'Failing back to AWS us-east-1 (run failback-1)',
        'Traffic on Azure eastus2 until the cut-over.',
      );
      assert.equal(await page.getAttribute('#site-banner', 'class'), 'banner tone-warn');
      await step({ type: 'run_finished', runbook: 'failback', run_id: 'failback-1', status: 'succeeded' });
      await banner('primary_active', 'none', `Traffic on AWS us-east-1 since ${await since()}`);

      // A region failover: the secondary region serves and is named by its region.
      await step({ type: 'run_started', runbook: 'region_failover', run_id: 'region-1' });
      await banner(
        'failing_over',
        'none',
        'Failing over to AWS us-west-2 (run region-1)',
        'Traffic on AWS us-east-1 until the cut-over.',
      );
      await step({
        type: 'run_finished',
        runbook: 'region_failover',
        run_id: 'region-1',
        status: 'succeeded',
        fence: 'fenced',
      });
      await banner(
        'secondary_active',
        'fenced',
        `Traffic on AWS us-west-2 since ${await since()} (run region-1)`,
        'Reprotect when AWS us-east-1 is healthy.',
      );
      loop.site = { active_site: 'secondary', state: 'secondary_active' };
      loop.next = snapshot();
      loop.context = {};
      loop.clock += 30;
      await loop.cycle();
      await refresh();
      await page.waitForFunction(
        () =>
          document.querySelector('#score-site')?.textContent ===
          'of the serving site: AWS us-west-2 (secondary region)',
      );
      await page.screenshot({ path: join(screenshotDir(), 'dashboard-secondary.png'), fullPage: true });
      assert.deepEqual(failures, []);
    } finally {
      // A failure before the approval leaves the run waiting, and its engine would keep the file alive until
      // the file's timeout: abort it (a finished run answers with a conflict, which changes nothing).
      await world.runs.abort(handle.runId, 'test cleanup');
      await handle.done.catch(() => undefined);
      await browser.close();
      await server.close();
      world.cleanup();
    }
  },
);

const UTC = { timeZone: 'UTC', hour12: false } as const;

/** A time as the page shows it (en-US, UTC): 20:16:27. */
function clock(unix: number): string {
  return new Date(unix * 1000).toLocaleTimeString('en-US', UTC);
}

/** When a state began, as the page shows it: 20:16. */
function hourMinute(unix: number): string {
  return new Date(unix * 1000).toLocaleTimeString('en-US', { ...UTC, hour: '2-digit', minute: '2-digit' });
}

function screenshotDir(): string {
  const dir = join(process.env.TMPDIR ?? '/tmp', 'phoenix-dashboard-screens');
  mkdirSync(dir, { recursive: true });
  return dir;
}
