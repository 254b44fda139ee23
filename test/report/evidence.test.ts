import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { evidenceReport, renderHtml, renderPdf } from '../../src/report/index.js';
import { Journal } from '../../src/runbook/index.js';
import { JournalRunControl, startServer } from '../../src/server/index.js';
import { READ_TOKEN, serverConfig } from '../server/harness.js';
import { needFiles } from '../helpers/tools.js';
import { incidentRun } from './report-world.js';

const CHROMIUM = '/usr/bin/chromium';

test('the evidence report of a real run names the decision, the approver, every stage, a continued failure and RTO/RPO against targets', async () => {
  const world = await incidentRun({ drills: { schedule: '0 3 * * 1', rto_target: '1h' } });
  try {
    const report = await evidenceReport(world.db, world.config, world.runId, Date.now() / 1000);
    assert.equal(report.run.status, 'succeeded');
    assert.equal(report.decision?.action, 'dr_failover');
    assert.equal(report.decision?.reason, world.decision.reason);
    assert.deepEqual(
      report.stages.map((s) => s.name),
      ['confirm-dr-site', 'promote', 'verify'],
    );
    const verify = report.stages.find((s) => s.name === 'verify')!;
    assert.equal(verify.label, 'succeeded with 1 failed step (continued)');
    assert.match(verify.continued_reason ?? '', /^status-page: /);
    assert.equal(report.approvals[0].decided_by, 'alice (on-call)');
    assert.equal(report.rto.target_s, 3600);
    assert.equal(report.rto.met, true);
    assert.equal(report.rpo.target_s, 60);
    assert.ok(
      report.timeline.some((p) => p.level === 'dr_failover'),
      'the timeline holds the cycles that reached the dr level',
    );
    assert.ok(
      report.timeline.some((p) => p.level === 'none'),
      'and the quiet ones before them',
    );
  } finally {
    world.cleanup();
  }
});

test('GET /api/runs/:id/report serves the HTML and JSON report; the run view labels the continued stage', async () => {
  const world = await incidentRun();
  const runs = new JournalRunControl(new Journal(world.db), world.config);
  const server = await startServer({
    config: serverConfig(),
    deps: { runs },
    listen: { host: '127.0.0.1', port: 0 },
    processMetrics: false,
  });
  const headers = { authorization: `Bearer ${READ_TOKEN}` };
  try {
    const html = await fetch(`${server.url}/api/runs/${world.runId}/report?format=html`, { headers });
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    assert.ok((await html.text()).includes(`Run report ${world.runId}`));
    const json = (await (
      await fetch(`${server.url}/api/runs/${world.runId}/report?format=json`, { headers })
    ).json()) as { run: { run_id: string }; decision: { reason: string } };
    assert.equal(json.run.run_id, world.runId);
    assert.equal(json.decision.reason, world.decision.reason);
    const missing = await fetch(`${server.url}/api/runs/no-such-run/report`, { headers });
    assert.equal(missing.status, 404);
    const view = (await runs.get(world.runId))!;
    const verify = view.stages.find((s) => s.name === 'verify')!;
    assert.equal(verify.status, 'succeeded');
    assert.equal(verify.label, 'succeeded with 1 failed step (continued)');
    assert.match(verify.error ?? '', /^status-page: /);
    assert.equal(view.stages.find((s) => s.name === 'promote')!.label, undefined);
  } finally {
    await server.close();
    world.cleanup();
  }
});

test(
  'the HTML report opens in Chromium with its stages, RTO and decision reason, and the PDF is a PDF of that run',
  { skip: needFiles([CHROMIUM], 'install the Debian package chromium') },
  async () => {
    const world = await incidentRun();
    try {
      const report = await evidenceReport(world.db, world.config, world.runId, Date.now() / 1000);
      const html = renderHtml(report);
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage();
        await page.setContent(html, { waitUntil: 'load' });
        const text = await page.locator('body').innerText();
        for (const stage of ['confirm-dr-site', 'promote', 'verify']) assert.ok(text.includes(stage), stage);
        assert.match(text, /RTO \(total time \+ DNS TTL\)\s+\d+\.\d s/);
        assert.ok(text.includes(`Reason: ${world.decision.reason}`));
        assert.ok(text.includes('succeeded with 1 failed step (continued)'));
        assert.ok(text.includes('alice (on-call)'));
        // The failed step's stderr is text on the page, never markup.
        assert.equal(await page.locator('down').count(), 0);
        assert.equal(await page.title(), `Run report ${world.runId}`);
      } finally {
        await browser.close();
      }
      const pdf = await renderPdf(html, CHROMIUM);
      assert.equal(pdf.subarray(0, 4).toString('latin1'), '%PDF');
      // Chromium writes the document title into the PDF's metadata (UTF-16BE when it is not plain ASCII).
      const title = `Run report ${world.runId}`;
      const utf16 = Buffer.from(title, 'utf16le').swap16().toString('latin1');
      const raw = pdf.toString('latin1');
      assert.ok(raw.includes(title) || raw.includes(utf16), 'the PDF metadata names the run');
    } finally {
      world.cleanup();
    }
  },
);
