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
  /** Scenarios with an expected category whose failover carried it, of those where one was judged. */
  category_matched: number;
  category_judged: number;
  /** For every DR decided, seconds from the first failing cycle to the first DR: median and max. */
  dr_after_first_failure_s?: { count: number; median: number; max: number };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** How long after the first failing cycle each scenario's first DR came. */
function drDelays(results: ReplayResult[]): ReplaySummary['dr_after_first_failure_s'] {
  const delays: number[] = [];
  for (const r of results) {
    const dr = r.decisions.find((d) => d.action === 'dr_failover');
    if (dr && r.first_failing_at !== undefined) delays.push(dr.at - r.first_failing_at);
  }
  if (delays.length === 0) return undefined;
  return { count: delays.length, median: median(delays), max: Math.max(...delays) };
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
    category_matched: results.filter((r) => r.category_matched === true).length,
    category_judged: results.filter((r) => r.category_matched !== undefined).length,
    dr_after_first_failure_s: drDelays(results),
  };
}

export function formatSummary(s: ReplaySummary): string {
  return (
    `${s.analyzer.padEnd(10)} ${s.scenarios} scenarios, ${s.met} met, ${s.false_positive_dr} false-positive DR, ` +
    `${s.missed_dr} missed DR, ${s.premature_dr} premature DR, ${s.false_region_failover} false region failovers` +
    (s.missed_region_failover ? `, ${s.missed_region_failover} missed region failovers` : '') +
    (s.category_judged ? `; category ${s.category_matched}/${s.category_judged}` : '') +
    (s.dr_after_first_failure_s
      ? `; DR after first failure: median ${formatDuration(s.dr_after_first_failure_s.median)}, max ${formatDuration(s.dr_after_first_failure_s.max)} (${s.dr_after_first_failure_s.count} DR)`
      : '')
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
