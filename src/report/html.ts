import type { EvidenceReport, Measured, TimelinePoint } from './model.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Every stored string (step errors, decision reasons, log-derived evidence) is untrusted text. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const iso = (unix: number | null | undefined) =>
  unix === null || unix === undefined ? '-' : new Date(unix * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
const secs = (s: number | null | undefined) => (s === null || s === undefined ? '-' : `${s.toFixed(1)} s`);

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;color:#1b1f24;margin:2em auto;max-width:60em;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;border-bottom:1px solid #ccd;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #dde;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f4f8}.ok{color:#116329}.bad{color:#b3261e}.warn{color:#8a5a00}.muted{color:#667}
.badge{display:inline-block;padding:0 .5em;border-radius:.7em;background:#eef;font-size:.9em}
svg{background:#fafbfd;border:1px solid #dde}@media print{body{margin:0}h2{break-after:avoid}}`;

function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '<p class="muted">None recorded.</p>';
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function verdict(m: Measured): string {
  if (m.met === null) return '<span class="muted">no target or no measurement</span>';
  return m.met ? '<span class="ok">met</span>' : '<span class="bad">missed</span>';
}

function scoreChart(points: TimelinePoint[], startedAt: number): string {
  if (points.length < 2) return '';
  const [w, h] = [760, 120];
  const t0 = points[0].at;
  const span = Math.max(1, points.at(-1)!.at - t0);
  const max = Math.max(11, ...points.map((p) => p.score));
  const x = (at: number) => ((at - t0) / span) * (w - 20) + 10;
  const y = (score: number) => h - 10 - (score / max) * (h - 20);
  const line = points.map((p) => `${x(p.at).toFixed(1)},${y(p.score).toFixed(1)}`).join(' ');
  const mark = x(Math.min(Math.max(startedAt, t0), t0 + span)).toFixed(1);
  return `<svg role="img" aria-label="score over time" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
<line x1="${mark}" x2="${mark}" y1="0" y2="${h}" stroke="#b3261e" stroke-dasharray="4 3"/>
<polyline fill="none" stroke="#2455c3" stroke-width="2" points="${line}"/></svg>`;
}

/** Only the cycles where something changed (level, action or a signal's status): a readable timeline. */
function timelineRows(points: TimelinePoint[]): string[][] {
  const rows: string[][] = [];
  let previous: TimelinePoint | undefined;
  for (const p of points) {
    const changed = Object.entries(p.signals).filter(([name, s]) => previous?.signals[name] !== s);
    if (previous && previous.level === p.level && previous.action === p.action && changed.length === 0)
      continue;
    const signals = changed.map(([name, s]) => `${name}=${s}`).join(', ');
    rows.push([iso(p.at), String(p.score), escapeHtml(p.level), escapeHtml(p.action), escapeHtml(signals)]);
    previous = p;
  }
  return rows;
}

function decisionSection(report: EvidenceReport): string {
  const d = report.decision;
  const held = table(
    ['rule', 'first', 'last', 'cycles'],
    report.held_back.map((b) => [escapeHtml(b.rule), iso(b.first_at), iso(b.last_at), String(b.cycles)]),
  );
  if (!d) {
    const how = report.run.trigger ? `trigger: ${report.run.trigger}` : 'no trigger recorded';
    return `<h2>Decision</h2><p class="muted">No recorded decision started this run (${escapeHtml(how)}).</p>
<h3>What held action back before the run</h3>${held}`;
  }
  const evidence = table(
    ['source', 'item', 'weight', 'says'],
    d.evidence.map((e) => [escapeHtml(e.source), escapeHtml(e.item), String(e.weight), escapeHtml(e.says)]),
  );
  return `<h2>Decision</h2>
<p><b>${escapeHtml(d.action)}</b> at ${iso(d.at)} · score ${d.score} (${escapeHtml(d.level)}) · category
${escapeHtml(d.category)} · confidence ${escapeHtml(d.confidence)}${d.analyzer ? ` · analyzer ${escapeHtml(d.analyzer)}` : ''}</p>
<p class="reason">Reason: ${escapeHtml(d.reason)}</p>
${d.root_cause ? `<p>Root cause: ${escapeHtml(d.root_cause)}</p>` : ''}
<h3>Evidence</h3>${evidence}<h3>What held action back before the run</h3>${held}`;
}

function stagesSection(report: EvidenceReport): string {
  const rows: string[][] = [];
  for (const stage of report.stages) {
    const cls = stage.continued.length ? 'warn' : stage.status === 'succeeded' ? 'ok' : 'bad';
    const why = stage.continued_reason
      ? `<br><span class="warn">${escapeHtml(stage.continued_reason)}</span>`
      : '';
    rows.push([
      `<b>${escapeHtml(stage.name)}</b>`,
      '',
      `<span class="${cls}">${escapeHtml(stage.label)}</span>${why}`,
      secs(stage.duration_s),
      '',
    ]);
    for (const step of stage.steps) {
      const detail = step.error ?? step.summary ?? '';
      rows.push([
        '',
        escapeHtml(`${step.name} (${step.type})`),
        escapeHtml(step.status),
        secs(step.duration_s),
        `${step.attempts} attempt(s) ${escapeHtml(detail)}`,
      ]);
    }
  }
  return `<h2>Stages and steps</h2>${table(['stage', 'step', 'status', 'duration', 'detail'], rows)}`;
}

/** A drill-mode run: each rehearsal's cleanup, what it removed and anything it found left. */
function cleanupSection(report: EvidenceReport): string {
  const steps = report.run.cleanup?.steps;
  if (!steps) return '';
  const rows = steps.map((s) => [
    escapeHtml(`${s.step} (${s.type})`),
    `<span class="${s.status === 'cleaned' ? 'ok' : 'bad'}">${escapeHtml(s.status)}</span>`,
    escapeHtml(s.error ?? s.summary ?? ''),
    escapeHtml(s.left.join(', ') || 'nothing'),
  ]);
  return `<h2>Drill cleanup: ${escapeHtml(report.cleanup.status)}</h2>${table(['step', 'cleanup', 'what it did', 'left behind'], rows)}`;
}

/** A self-contained HTML page (inline CSS, no external assets): it prints and archives as is. */
export function renderHtml(report: EvidenceReport): string {
  const r = report.run;
  const title = `${report.kind === 'drill' ? 'Drill' : 'Run'} report ${r.run_id}`;
  const approvals = table(
    ['gate', 'requested', 'decided', 'by', 'waited'],
    report.approvals.map((a) => [
      escapeHtml(a.gate),
      iso(a.requested_at),
      iso(a.decided_at),
      escapeHtml(a.decided_by ?? 'not decided'),
      secs(a.waited_s),
    ]),
  );
  const drill = report.drill
    ? `<p>Drill ${escapeHtml(report.drill.id)} · mode ${escapeHtml(report.drill.mode)} · scheduled for ${iso(report.drill.scheduled_for)}${report.drill.detail ? ` · ${escapeHtml(report.drill.detail)}` : ''}</p>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p><span class="badge">${escapeHtml(r.runbook)}</span> <b class="${r.status === 'succeeded' ? 'ok' : 'bad'}">${escapeHtml(r.status)}</b>
· started ${iso(r.started_at)} · finished ${iso(r.finished_at)} · report generated ${iso(report.generated_at)}</p>
${drill}${r.error ? `<p class="bad">Error: ${escapeHtml(r.error)}</p>` : ''}
<p>Trigger: ${escapeHtml(r.trigger ?? '-')} · reason: ${escapeHtml(r.reason ?? '-')}</p>
<h2>Recovery objectives</h2>
${table(
  ['measure', 'measured', 'target', 'verdict'],
  [
    [
      'RTO (total time + DNS TTL)',
      secs(report.rto.measured_s),
      secs(report.rto.target_s),
      verdict(report.rto),
    ],
    [
      'RPO (data-loss estimate)',
      report.rpo.measured_s === null ? 'not measured' : secs(report.rpo.measured_s),
      secs(report.rpo.target_s),
      verdict(report.rpo),
    ],
  ],
)}
<p>Total time ${secs(r.total_s)} · DNS TTL ${secs(r.dns_ttl_s)} · cleanup: ${escapeHtml(report.cleanup.status)}${report.cleanup.detail ? ` (${escapeHtml(report.cleanup.detail)})` : ''}</p>
<h2>Incident timeline</h2>${scoreChart(report.timeline, r.started_at)}
${table(['time', 'score', 'level', 'action', 'signals that changed'], timelineRows(report.timeline))}
${decisionSection(report)}
<h2>Approvals</h2>${approvals}
${stagesSection(report)}
${cleanupSection(report)}
</body></html>
`;
}
