import type { Signal } from '../../core/index.js';
import type { CycleRecord } from '../../store/index.js';

/** The measured values worth a glance, in one short phrase. */
export function measureSummary(signal: Signal): string {
  const parts: string[] = [];
  const n = (key: string) => (typeof signal[key] === 'number' ? (signal[key] as number) : undefined);
  if (n('healthy') !== undefined && n('total') !== undefined)
    parts.push(`${n('healthy')}/${n('total')} healthy`);
  if (n('up') !== undefined && n('total') !== undefined)
    parts.push(`${n('up')}/${n('total')} vantage points up`);
  if (n('ready') !== undefined && n('total') !== undefined)
    parts.push(`${n('ready')}/${n('total')} nodes Ready`);
  if (n('crashloop_pods')) parts.push(`${n('crashloop_pods')} pods crash-looping`);
  if (n('seconds') !== undefined) parts.push(`lag ${n('seconds')}s`);
  if (n('data_behind_s') !== undefined) parts.push(`behind ${n('data_behind_s')}s`);
  if (n('bytes') !== undefined) parts.push(`${n('bytes')} bytes`);
  if (n('zones_total') !== undefined)
    parts.push(`${n('zones_available')}/${n('zones_total')} zones available`);
  if (n('days_left') !== undefined) parts.push(`${n('days_left')} days left`);
  if (n('latency_ms') !== undefined) parts.push(`${n('latency_ms')} ms`);
  return parts.join(', ');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text + ' ' : text + ' '.repeat(width - text.length);
}

/** Signals, score, level and decision as a person reads them. */
export function formatCycle(record: CycleRecord, options: { header?: string } = {}): string {
  const lines: string[] = [];
  if (options.header) lines.push(options.header);
  const names = Object.keys(record.signals).sort();
  const width = Math.max(12, ...names.map((n) => n.length)) + 2;
  const weights = new Map(record.score.contributions.map((c) => [c.signal, c]));
  lines.push('signals:');
  if (names.length === 0) lines.push('  (no probes configured: add a probes.signals section)');
  for (const name of names) {
    const signal = record.signals[name];
    const c = weights.get(name);
    const weight = c ? `+${c.weight}` : ' -';
    const measure = measureSummary(signal);
    lines.push(
      `  ${pad(name, width)}${pad(signal.status, 9)}${pad(weight, 4)}${measure}${signal.detail ? `${measure ? ' — ' : ''}${String(signal.detail)}` : ''}`,
    );
  }
  lines.push(`score ${record.score.score} → level ${record.score.level}`);
  const d = record.decision;
  lines.push(`decision: ${d.action} (${d.category}, ${d.confidence} confidence) — ${d.reason}`);
  if (d.blocked_by.length) lines.push(`  held back by: ${d.blocked_by.join('; ')}`);
  return lines.join('\n');
}
