import { formatDuration } from '../core/index.js';
import type { ReplayResult } from './replay.js';

export interface ReplaySummary {
  analyzer: string;
  scenarios: number;
  met: number;
  false_positive_dr: number;
  missed_dr: number;
  premature_dr: number;
  false_region_failover: number;
  missed_region_failover: number;
}

export function summarize(analyzer: string, results: ReplayResult[]): ReplaySummary {
  const count = (key: keyof ReplayResult['failures']): number =>
    results.filter((r) => r.failures[key]).length;
  return {
    analyzer,
    scenarios: results.length,
    met: results.filter((r) => r.met).length,
    false_positive_dr: count('false_positive_dr'),
    missed_dr: count('missed_dr'),
    premature_dr: count('premature_dr'),
    false_region_failover: count('false_region_failover'),
    missed_region_failover: count('missed_region_failover'),
  };
}

export function formatSummary(s: ReplaySummary): string {
  return (
    `${s.analyzer.padEnd(10)} ${s.scenarios} scenarios, ${s.met} met, ${s.false_positive_dr} false-positive DR, ` +
    `${s.missed_dr} missed DR, ${s.premature_dr} premature DR, ${s.false_region_failover} false region failovers` +
    (s.missed_region_failover ? `, ${s.missed_region_failover} missed region failovers` : '')
  );
}

function clip(text: string, width: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? flat.slice(0, width - 1) + '…' : flat;
}

/** A compact table of one scenario's decisions. */
export function formatResult(result: ReplayResult, width = 110): string {
  const lines = [`${result.met ? 'MET ' : 'FAIL'} ${result.scenario}`];
  if (result.decisions.length === 0) lines.push('       (no action decided)');
  for (const d of result.decisions) {
    const head = `  ${formatDuration(d.at).padStart(6)}  ${d.action.padEnd(15)} score ${String(d.score).padStart(2)}  ${d.category.padEnd(25)} ${d.confidence.padEnd(6)} `;
    lines.push(head + clip(d.reason, Math.max(20, width - head.length)));
  }
  for (const p of result.problems) lines.push(`       ✗ ${p}`);
  return lines.join('\n');
}
