import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Dialog } from 'playwright-core';
import { ReadinessMonitor } from '../../src/runbook/index.js';
import { SiteStateStore } from '../../src/lifecycle/index.js';
import { startServer } from '../../src/server/index.js';
import { siteDeps } from '../../src/server/deps.js';
import { openDatabase } from '../../src/store/index.js';
import { needFiles } from '../helpers/tools.js';
import { DecisionLoop, OPERATE_TOKEN, serverConfig, snapshot } from './harness.js';
import { runbookWorld } from './runbook-world.js';

const CHROMIUM = '/usr/bin/chromium';

test(
  'the dashboard shows the score history, a banner with the site state, its next action and the pause, and approves a waiting stage from the banner',
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
    const handle = await world.engine.start('dr_failover', { trigger: 'decision', reason: 'aws outage' });
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
        // After a failover: the rebuilt primary still copies a table, so the way back is not open yet.
        failback: {
          latest: () => ({
            ready: false,
            reasons: ['the rebuilt primary still copies 1 table'],
            subscription: 'phoenix_failback',
            bytes_behind: 8192,
            lag_s: 4,
            tables_copying: 1,
            checked_at: loop.now() - 5,
            step: 'switch back',
          }),
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
      const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
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
      await page.waitForSelector('#site-banner[data-state="primary_active"]:not([hidden])');
      assert.equal(await page.textContent('#site-headline'), 'Traffic on AWS (primary)');
      assert.equal(await page.textContent('#site-pause'), 'Automation on');
      // Identical consecutive decisions are one line with a count.
      assert.match((await page.locator('.decision .badge').first().textContent())!, /^\d+ cycles$/);

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
      await refresh();
      await page.waitForFunction(() =>
        /^Failover decided at .+: approve or abort$/.test(
          document.querySelector('#site-headline')?.textContent ?? '',
        ),
      );
      assert.equal(await page.getAttribute('#site-banner', 'data-state'), 'failing_over');
      assert.match(
        (await page.textContent('#site-detail'))!,
        /^Data at risk: 12 s of writes \(db_replication_lag\) · Evidence: .+/,
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

      // DR serves; the old primary came back writable before its fence held: the banner turns red.
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
      await sites.apply({ type: 'fence_checked', reachable: true, writable: true }, cause, loop.now());
      await refresh();
      await page.waitForSelector('#site-banner[data-state="dr_active"][data-fence="fence_pending"]');
      assert.equal(await page.textContent('#site-headline'), 'Old primary back and writable: fencing');
      assert.match(
        (await page.textContent('#site-detail'))!,
        /^Split-brain risk: AWS \(primary\) took writes/,
      );
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
      await refresh();
      await page.waitForSelector('#site-banner[data-state="dr_active"][data-fence="fenced"]');
      assert.match(
        (await page.textContent('#site-headline'))!,
        /^Traffic on Azure \(DR\) since .+ \(run .+\)$/,
      );
      assert.equal(await page.textContent('#site-detail'), 'Reprotect when AWS (primary) is healthy.');
      assert.deepEqual(failures, []);
    } finally {
      await browser.close();
      await server.close();
      world.cleanup();
    }
  },
);

function screenshotDir(): string {
  const dir = join(process.env.TMPDIR ?? '/tmp', 'phoenix-dashboard-screens');
  mkdirSync(dir, { recursive: true });
  return dir;
}
