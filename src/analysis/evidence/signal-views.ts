import type {
  CrossRegionCheck,
  Signal,
  SignalSnapshot,
  VantageResult,
  ZoneNodeCount,
} from '../../core/index.js';
import type { AnalysisInput, CycleObservation } from '../analyzer.js';
import type { Features } from './features.js';
import { classifyText } from './text.js';
import { spreadFromZones, zoneSpread, type ZoneSpread } from './zones.js';

/**
 * What each probe's signal says, structured facts first (FORMAT.md v1.1: zones, crashlooping, checks,
 * vantages, failing), then the counts, then the probe's own wording.
 */

const BAD = new Set(['degraded', 'error']);

export function isBad(status: string): boolean {
  return BAD.has(status);
}

export function num(signal: Signal | undefined, key: string): number | undefined {
  const value = signal?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function list<T>(signal: Signal | undefined, key: string): T[] | undefined {
  const value = signal?.[key];
  return Array.isArray(value) ? (value as T[]) : undefined;
}

export function statusOf(signals: SignalSnapshot, name: string): string {
  return signals[name]?.status ?? 'absent';
}

/** Outside vantage points: structured results first (`vantages`), else the up/total counts. */
export function externalView(signal: Signal | undefined): {
  status: string;
  present: boolean;
  allUp: boolean;
  allDown: boolean;
} {
  const vantages = list<VantageResult>(signal, 'vantages');
  const up = vantages ? vantages.filter((v) => v.up).length : num(signal, 'up');
  const total = vantages?.length || num(signal, 'total');
  const status = signal?.status ?? 'absent';
  const share = up !== undefined && total ? up / total : undefined;
  return {
    status,
    present: Boolean(signal),
    // One vantage point failing alone is that vantage point's trouble: down needs a quorum.
    allUp: status === 'ok' || (share !== undefined && share >= 0.75),
    allDown: isBad(status) && (up === undefined || up === 0 || (share !== undefined && share <= 0.25)),
  };
}

/** Failing share of our services: the structured `failing` list where counts are missing. */
export function internalView(signal: Signal | undefined): { status: string; failingShare?: number } {
  const healthy = num(signal, 'healthy');
  const total = num(signal, 'total');
  const failing = list<unknown>(signal, 'failing');
  const failingShare =
    healthy !== undefined && total
      ? 1 - healthy / total
      : failing && total
        ? failing.length / total
        : undefined;
  return { status: signal?.status ?? 'absent', failingShare };
}

// The Kubernetes probe's own wording (signals/kubernetes.ts): "N/T nodes not Ready: names".
const KUBE_PROBE_COUNT = /\b(\d+)\/(\d+) nodes not ready\b/i;

/** Node facts: structured per-zone counts first, then the counts, then the probe's own wording. */
export function nodeView(input: AnalysisInput, onset: number | undefined): Features['nodes'] {
  const signal = input.signals.eks_nodes;
  const detail = signal?.detail ?? '';
  const zones = signal?.zones as Record<string, ZoneNodeCount> | undefined;
  const zoneCounts = zones ? Object.values(zones) : undefined;
  const fromText = KUBE_PROBE_COUNT.exec(detail);
  const total =
    num(signal, 'total') ??
    zoneCounts?.reduce((s, z) => s + z.total, 0) ??
    (fromText ? Number(fromText[2]) : undefined);
  const ready =
    num(signal, 'ready') ??
    zoneCounts?.reduce((s, z) => s + z.ready, 0) ??
    (fromText ? Number(fromText[2]) - Number(fromText[1]) : undefined);
  const empty = total === 0 && isBad(signal?.status ?? '');
  const notReadyShare = empty ? 1 : ready !== undefined && total ? Math.max(0, total - ready) / total : 0;
  const bootstrapping =
    /bootstrap|joining|scale-?up|scaling up|new nodes/i.test(detail) && notReadyShare <= 0.25;
  const crashlooping = num(signal, 'crashlooping') ?? 0;
  const allReady = ready !== undefined && total !== undefined && total > 0 && ready >= total;
  return {
    status: signal?.status ?? 'absent',
    notReadyShare,
    empty,
    unreadable: ready === undefined && !empty && isBad(signal?.status ?? ''),
    explained: classifyText(detail).has('memory') || bootstrapping,
    podsOnly: allReady && (isBad(signal?.status ?? '') || crashlooping > 0),
    crashlooping,
    zones: spreadFromZones(zones) ?? spreadOverRun(input.history, onset, 'eks_nodes'),
  };
}

/**
 * Cross-region API checks: per-call results decide the status where present. A call refused with an
 * access-denial code reached a working API: it counts as answered (the refusal is our credentials' business).
 */
export function crossRegionView(input: AnalysisInput, onset: number | undefined): Features['crossRegion'] {
  const signal = input.signals.aws_cross_region;
  const checks = list<CrossRegionCheck>(signal, 'checks') ?? [];
  let status = signal?.status ?? 'absent';
  const total = checks.reduce((s, c) => s + c.total, 0);
  if (total > 0) {
    const denied = (c: CrossRegionCheck): boolean =>
      Boolean(c.error) && classifyText(c.error!).has('permission');
    const answered = checks.reduce((s, c) => s + (denied(c) ? c.total : c.ok), 0);
    const share = answered / total;
    status = share >= 1 ? 'ok' : share >= 0.5 ? 'degraded' : 'error';
  }
  return {
    status,
    present: Boolean(signal),
    zones: spreadOverRun(input.history, onset, 'aws_cross_region'),
  };
}

/** Zone spread over the current impaired run: any mention of several zones wins over one zone. */
function spreadOverRun(
  history: CycleObservation[],
  onset: number | undefined,
  signal: string,
): ZoneSpread | undefined {
  if (onset === undefined) return undefined;
  let spread: ZoneSpread | undefined;
  for (const h of history) {
    if (h.at < onset) continue;
    const s = h.signals[signal];
    const z =
      spreadFromZones(s?.zones as Record<string, ZoneNodeCount> | undefined) ?? zoneSpread(s?.detail ?? '');
    if (z === 'multi') return 'multi';
    if (z === 'single') spread = 'single';
  }
  return spread;
}
