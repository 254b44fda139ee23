import type {
  AwsHealthEvent,
  ChangeRecord,
  IncidentContext,
  Signal,
  SignalSnapshot,
  StatusIncident,
  Topology,
} from '../../core/index.js';
import type { AnalysisInput, CycleObservation } from '../analyzer.js';
import { classifyText, squash, tallyText, zoneSpread, type TextFamily } from './text.js';

/** What the evidence engine reads off one cycle, its history and its context. */
export interface Features {
  now: number;
  impaired: boolean;
  /** When the current unbroken run of impaired cycles began. */
  onset?: number;
  /** Impaired episodes in the window that ended in a recovery. */
  recoveries: number;
  internal: { status: string; failingShare?: number };
  external: { status: string; present: boolean; allUp: boolean; allDown: boolean };
  nodes: {
    status: string;
    notReadyShare: number;
    /** The probe failed without counting nodes (API unreachable). */
    unreadable: boolean;
    /** NotReady nodes explained by something other than the cloud: memory pressure, bootstrapping. */
    explained: boolean;
    /** Pods failing while every node is Ready: a workload, not an infrastructure, problem. */
    podsOnly: boolean;
    zones?: 'single' | 'multi';
  };
  crossRegion: { status: string; present: boolean; zones?: 'single' | 'multi' };
  db: { status: string; seconds?: number; dataBehind?: number; preOnsetLag?: number };
  drSite: { status: string; present: boolean };
  crossCloud: { status: string };
  secondary: { status: string; present: boolean };
  metrics: {
    errorRate?: number;
    requestRate?: number;
    baseErrorRate?: number;
    baseRequestRate?: number;
    /** Current request rate over the baseline. */
    trafficRatio?: number;
    /** Any metric whose name mentions WAL / writes, over its baseline. */
    writeRatio?: number;
  };
  health: {
    available: boolean;
    regionalIssues: AwsHealthEvent[];
    secondaryIssues: AwsHealthEvent[];
    ignored: AwsHealthEvent[];
    maintenance: AwsHealthEvent[];
  };
  /** The edge (CDN/DNS) provider in front of the sites, lower-case. */
  edgeProvider: string;
  edgeIncidents: StatusIncident[];
  edgeFeedDown: boolean;
  drIncidents: StatusIncident[];
  changes: {
    beforeOnset: ChangeRecord[];
    rollbacks: ChangeRecord[];
    all: ChangeRecord[];
    /** A rollback of ours was followed by the failure persisting past a recovery grace period. */
    rollbackFailed: boolean;
  };
  logs: { lines: string[]; tally: Map<TextFamily, number> };
  details: { text: string; tally: Map<TextFamily, number> };
  injections: string[];
}

const BAD = new Set(['degraded', 'error']);

function num(signal: Signal | undefined, key: string): number | undefined {
  const value = signal?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function statusOf(signals: SignalSnapshot, name: string): string {
  return signals[name]?.status ?? 'absent';
}

/** A cycle counts as impaired when its level calls for any action. */
function isImpaired(observation: CycleObservation): boolean {
  return observation.level !== 'none';
}

function normalizeService(service: string): string {
  return service.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

function inRegion(event: AwsHealthEvent, region: string | undefined): boolean {
  if (!region) return false;
  return squash(event.region) === squash(region);
}

function usesService(topology: Topology, service: string): boolean {
  const used = topology.primary.services;
  const s = normalizeService(service);
  if (s === 'MULTIPLESERVICES') return true;
  if (!used || used.length === 0) return true;
  return used.some((u) => normalizeService(u) === s);
}

function isOpenIssue(event: AwsHealthEvent): boolean {
  return (
    (event.eventTypeCategory === 'issue' || event.eventTypeCategory === 'investigation') &&
    event.statusCode === 'open'
  );
}

/** An incident still affecting its components (not resolved, some impact). */
function active(incident: StatusIncident): boolean {
  return incident.status !== 'resolved' && incident.impact !== 'none';
}

function mentionsRegion(incident: StatusIncident, region: string | undefined): boolean {
  if (!region) return false;
  const text = squash(`${incident.name} ${incident.body ?? ''} ${(incident.components ?? []).join(' ')}`);
  return text.includes(squash(region));
}

/** Whether an Azure incident names something the DR site stands on. */
function touchesDrSite(incident: StatusIncident, topology: Topology): boolean {
  if (mentionsRegion(incident, topology.dr.region)) return true;
  // A global incident (no region named) touches the DR site when it names a component the site declares.
  // The cloud and region names are not components: "azure" would match every Azure incident.
  const facts = Object.entries(topology.dr)
    .filter(([key]) => key !== 'cloud' && key !== 'region')
    .map(([, v]) => v)
    .filter((v): v is string => typeof v === 'string')
    .map(squash)
    .filter((v) => v.length > 3);
  const components = (incident.components ?? []).map(squash);
  return components.some((c) => facts.some((f) => c.includes(f) || f.includes(c)));
}

const ROLLBACK_GRACE_S = 120;
const ROLLBACK = /\b(?:rollback|roll(?:ed)? back|revert(?:ed)?|disabled|undo)\b/i;

export function extractFeatures(input: AnalysisInput): Features {
  const { signals, context, topology, history, now } = input;
  const ctx: IncidentContext = context ?? {};

  // Onset of the current impaired run and the number of earlier recovered episodes.
  let onset: number | undefined;
  for (let i = history.length - 1; i >= 0 && isImpaired(history[i]); i--) onset = history[i].at;
  let recoveries = 0;
  for (let i = 1; i < history.length; i++)
    if (isImpaired(history[i - 1]) && !isImpaired(history[i])) recoveries++;
  const impaired = input.score.level !== 'none';

  const internal = signals.internal_services;
  const healthy = num(internal, 'healthy');
  const total = num(internal, 'total');
  const external = signals.external_uptime;
  const up = num(external, 'up');
  const vantage = num(external, 'total');
  const nodes = signals.eks_nodes;
  const ready = num(nodes, 'ready');
  const nodeTotal = num(nodes, 'total');
  const nodeDetail = nodes?.detail ?? '';
  const nodeFamilies = classifyText(nodeDetail);
  // Without counts, a failing node probe says only that the cluster could not be read.
  const notReadyShare = ready !== undefined && nodeTotal ? Math.max(0, nodeTotal - ready) / nodeTotal : 0;
  const nodesUnreadable = ready === undefined && isBad(nodes?.status ?? '');
  const bootstrapping =
    /bootstrap|joining|scale-?up|scaling up|new nodes/i.test(nodeDetail) && notReadyShare <= 0.25;

  // Baselines: the first cycle in the window that was not impaired, else the first cycle.
  const baseline = input.baseline?.metrics
    ? input.baseline
    : (history.find((h) => !isImpaired(h) && h.metrics) ?? history.find((h) => h.metrics));
  const metrics = ctx.metrics ?? {};
  const base = baseline?.metrics ?? {};
  const ratio = (a?: number, b?: number): number | undefined => (a !== undefined && b ? a / b : undefined);
  const writeKey = Object.keys(metrics).find((k) => /wal|write/i.test(k));

  // The replica lag measured just before the failure began: what the replica held when the primary went away.
  let preOnsetLag: number | undefined;
  if (onset !== undefined) {
    const before = [...history].reverse().find((h) => h.at < onset!);
    preOnsetLag = num(before?.signals.db_replication_lag, 'seconds');
  }

  const health = ctx.aws_health;
  const events = health?.events ?? [];
  const regionalIssues: AwsHealthEvent[] = [];
  const secondaryIssues: AwsHealthEvent[] = [];
  const ignored: AwsHealthEvent[] = [];
  const maintenance: AwsHealthEvent[] = [];
  for (const event of events) {
    const ours = inRegion(event, topology.primary.region) || squash(event.region) === 'global';
    if (ours && usesService(topology, event.service) && isOpenIssue(event)) regionalIssues.push(event);
    else if (inRegion(event, topology.secondary?.region) && isOpenIssue(event)) secondaryIssues.push(event);
    else if (
      ours &&
      usesService(topology, event.service) &&
      event.eventTypeCategory === 'scheduledChange' &&
      event.statusCode !== 'closed'
    )
      maintenance.push(event);
    else ignored.push(event);
  }

  const edgeProvider = (topology.edge?.provider ?? 'cloudflare').toLowerCase();
  const edgeFeed = edgeProvider === 'cloudflare' ? ctx.cloudflare : ctx.status_pages?.[edgeProvider];
  const edgeIncidents = (edgeFeed?.incidents ?? []).filter(
    (i) => active(i) && (i.impact === 'major' || i.impact === 'critical'),
  );
  const drIncidents = (ctx.azure_status?.incidents ?? []).filter(
    (i) => active(i) && (i.impact === 'major' || i.impact === 'critical') && touchesDrSite(i, topology),
  );

  const changes = ctx.changes ?? [];
  const referenceTime = onset ?? now;
  const beforeOnset = changes.filter(
    (c) => c.at <= referenceTime && c.at >= referenceTime - 15 * 60 && !ROLLBACK.test(c.description),
  );
  const rollbacks = changes.filter(
    (c) => ROLLBACK.test(c.description) && onset !== undefined && c.at > onset && c.at < now,
  );
  // A rollout takes a while to take effect: only a failure that outlasts this grace period proves the rollback did not help.
  const rollbackFailed = rollbacks.some((r) => now - r.at >= ROLLBACK_GRACE_S);

  const lines = (ctx.logs ?? []).map((l) => l.line ?? '').filter((l) => typeof l === 'string');
  const statusBodies = [
    ...(ctx.cloudflare?.incidents ?? []),
    ...(ctx.azure_status?.incidents ?? []),
    ...Object.values(ctx.status_pages ?? {}).flatMap((f) => f.incidents ?? []),
  ].map((i) => `${i.name} ${i.body ?? ''}`);
  const detailText = Object.values(signals)
    .map((s) => s?.detail ?? '')
    .join(' | ');
  const injections = [...lines, ...statusBodies].filter((l) => classifyText(l).has('injection'));

  return {
    now,
    impaired,
    onset: impaired ? onset : undefined,
    recoveries,
    internal: {
      status: statusOf(signals, 'internal_services'),
      failingShare: healthy !== undefined && total ? 1 - healthy / total : undefined,
    },
    external: {
      status: statusOf(signals, 'external_uptime'),
      present: Boolean(external),
      // One vantage point failing alone is that vantage point's trouble: down needs a quorum.
      allUp:
        external?.status === 'ok' ||
        (up !== undefined && vantage !== undefined && vantage > 0 && up / vantage >= 0.75),
      allDown:
        external?.status === 'error' &&
        (up === undefined || up === 0 || (vantage !== undefined && up / vantage <= 0.25)),
    },
    nodes: {
      status: statusOf(signals, 'eks_nodes'),
      notReadyShare,
      unreadable: nodesUnreadable,
      explained: nodeFamilies.has('memory') || bootstrapping,
      podsOnly:
        BAD.has(nodes?.status ?? '') && ready !== undefined && nodeTotal !== undefined && ready >= nodeTotal,
      zones: spreadOverRun(history, onset, 'eks_nodes') ?? zoneSpread(nodeDetail),
    },
    crossRegion: {
      status: statusOf(signals, 'aws_cross_region'),
      present: Boolean(signals.aws_cross_region),
      zones:
        spreadOverRun(history, onset, 'aws_cross_region') ??
        zoneSpread(signals.aws_cross_region?.detail ?? ''),
    },
    db: {
      status: statusOf(signals, 'db_replication_lag'),
      seconds: num(signals.db_replication_lag, 'seconds'),
      dataBehind: num(signals.db_replication_lag, 'data_behind_s'),
      preOnsetLag,
    },
    drSite: { status: statusOf(signals, 'dr_site'), present: Boolean(signals.dr_site) },
    crossCloud: { status: statusOf(signals, 'cross_cloud') },
    secondary: { status: statusOf(signals, 'secondary_region'), present: Boolean(signals.secondary_region) },
    metrics: {
      errorRate: metrics.error_rate,
      requestRate: metrics.request_rate,
      baseErrorRate: base.error_rate,
      baseRequestRate: base.request_rate,
      trafficRatio: ratio(metrics.request_rate, base.request_rate),
      writeRatio: writeKey ? ratio(metrics[writeKey], base[writeKey]) : undefined,
    },
    health: { available: health?.available ?? false, regionalIssues, secondaryIssues, ignored, maintenance },
    edgeProvider,
    edgeIncidents,
    edgeFeedDown: edgeFeed?.available === false,
    drIncidents,
    changes: { beforeOnset, rollbacks, all: changes, rollbackFailed },
    logs: { lines, tally: tallyText(lines) },
    details: { text: detailText, tally: tallyText(Object.values(signals).map((s) => s?.detail ?? '')) },
    injections,
  };
}

/** Zone spread over the current impaired run: any mention of several zones wins over one zone. */
function spreadOverRun(
  history: CycleObservation[],
  onset: number | undefined,
  signal: string,
): 'single' | 'multi' | undefined {
  if (onset === undefined) return undefined;
  let spread: 'single' | 'multi' | undefined;
  for (const h of history) {
    if (h.at < onset) continue;
    const z = zoneSpread(h.signals[signal]?.detail ?? '');
    if (z === 'multi') return 'multi';
    if (z === 'single') spread = 'single';
  }
  return spread;
}

export function isBad(status: string): boolean {
  return BAD.has(status);
}
