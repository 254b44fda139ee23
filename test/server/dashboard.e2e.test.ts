import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ReadinessMonitor } from '../../src/runbook/index.js';
import { startServer } from '../../src/server/index.js';
import { needFiles } from '../helpers/tools.js';
import { DecisionLoop, OPERATE_TOKEN, serverConfig, snapshot } from './harness.js';
import { runbookWorld } from './runbook-world.js';

const CHROMIUM = '/usr/bin/chromium';

test(
  'the dashboard shows the score history and approves a waiting stage through its button',
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
      page.once('dialog', (dialog) => {
        assert.match(dialog.message(), /Approve stage "promote" of run/);
        void dialog.accept();
      });
      await page.click(`.run[data-id="${handle.runId}"] button.approve`);
      const report = await handle.done;
      assert.equal(report.status, 'succeeded');
      assert.equal(existsSync(world.marker), true);
      await page
        .locator(`.run[data-id="${handle.runId}"][data-status="succeeded"]`)
        .waitFor({ timeout: 10_000 });
      assert.match((await stage.getAttribute('title'))!, /approved by oncall/);
      await page.screenshot({ path: join(screenshotDir(), 'dashboard-approved.png'), fullPage: true });
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
