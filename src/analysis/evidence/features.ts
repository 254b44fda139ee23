import type {
  AwsHealthEvent,
  ChangeRecord,
  ImpactAssessment,
  IncidentContext,
  StatusIncident,
} from '../../core/index.js';
import type { AnalysisInput } from '../analyzer.js';
import { changesView, drIncidentsOf, edgeView, healthView, metricsView, textView } from './context-views.js';
import {
  crossRegionView,
  externalView,
  internalView,
  isImpaired,
  nodeView,
  num,
  statusOf,
} from './signal-views.js';
import { assessImpact } from './impact.js';
import { readUnknowns, type Blindness } from './unknowns.js';
import type { TextFamily } from './text.js';
import type { ZoneSpread } from './zones.js';

export { isBad } from './signal-views.js';

/** What the evidence engine reads off one cycle, its history and its context. */
export interface Features {
  now: number;
  impaired: boolean;
  /** When the current unbroken run of impaired cycles began. */
  onset?: number;
  /** The last cycle before the onset that was not impaired: users were served then. */
  lastServedAt?: number;
  /** Impaired episodes in the window that ended in a recovery. */
  recoveries: number;
  internal: { status: string; failingShare?: number };
  external: { status: string; present: boolean; allUp: boolean; allDown: boolean };
  /** What users lose (impact.ts): total, partial, none or unknown, and since when it has been total. */
  impact: ImpactAssessment;
  /** Probes that could not run, by where they run (unknowns.ts). */
  blind: Blindness;
  nodes: {
    status: string;
    notReadyShare: number;
    /** The cluster lists no nodes at all: nothing can run (never "every node is Ready"). */
    empty: boolean;
    /** The probe failed without counting nodes (API unreachable). */
    unreadable: boolean;
    /** NotReady nodes explained by something other than the cloud: memory pressure, bootstrapping. */
    explained: boolean;
    /** Pods failing while every node is Ready: a workload, not an infrastructure, problem. */
    podsOnly: boolean;
    /** Pods in CrashLoopBackOff (structured fact), 0 when unknown. */
    crashlooping: number;
    zones?: ZoneSpread;
  };
  crossRegion: { status: string; present: boolean; zones?: ZoneSpread };
  db: {
    status: string;
    seconds?: number;
    dataBehind?: number;
    preOnsetLag?: number;
    /** The replication probe's structured fact: `false` when the replica's primary does not answer it. */
    primaryAnswers?: false;
  };
  drSite: { status: string; present: boolean };
  crossCloud: { status: string };
  secondary: { status: string; present: boolean };
  metrics: {
    errorRate?: number;
    requestRate?: number;
    baseErrorRate?: number;
    /** Current request rate over the baseline. */
    trafficRatio?: number;
    /** Any metric whose name mentions WAL / writes, over its baseline. */
    writeRatio?: number;
  };
  health: {
    regionalIssues: AwsHealthEvent[];
    secondaryIssues: AwsHealthEvent[];
    maintenance: AwsHealthEvent[];
    /** Open issues of the AWS service that is our edge (Route 53, CloudFront). */
    edgeIssues: AwsHealthEvent[];
  };
  /** The edge (CDN/DNS) provider in front of the sites, lower-case. */
  edgeProvider: string;
  /** The topology names an edge (CDN or DNS service) in front of the sites. */
  edgeDeclared: boolean;
  edgeIncidents: StatusIncident[];
  edgeFeedDown: boolean;
  drIncidents: StatusIncident[];
  changes: {
    beforeOnset: ChangeRecord[];
    rollbacks: ChangeRecord[];
    /** A rollback of ours was followed by the failure persisting past a recovery grace period. */
    rollbackFailed: boolean;
  };
  /** Untrusted log lines minus the instruction-like ones: a flagged line counts nowhere. */
  logs: { lines: string[]; tally: Map<TextFamily, number> };
  details: { text: string; tally: Map<TextFamily, number> };
  /** Instruction-like texts found in logs and status pages, reported as red flags only. */
  injections: string[];
}

/** Reads everything the explanations weigh off one cycle, its history and its context. */
export function extractFeatures(raw: AnalysisInput): Features {
  const { topology, history, now } = raw;
  const ctx: IncidentContext = raw.context ?? {};
  // Onset of the current impaired run and the number of earlier recovered episodes.
  let onset: number | undefined;
  for (let i = history.length - 1; i >= 0 && isImpaired(history[i]); i--) onset = history[i].at;
  let recoveries = 0;
  for (let i = 1; i < history.length; i++)
    if (isImpaired(history[i - 1]) && !isImpaired(history[i])) recoveries++;
  const impact = assessImpact(raw);
  const impaired = isImpaired({ level: raw.score.level, signals: raw.signals });
  // Silent inside probes read as the evidence they are (unknowns.ts); the score keeps them as it scored them.
  const { signals, blind } = readUnknowns(raw, onset, impact);
  const input: AnalysisInput = { ...raw, signals };
  // The replica lag measured just before the failure began: what the replica held when the primary went away.
  const before = onset !== undefined ? [...history].reverse().find((h) => h.at < onset!) : undefined;
  return {
    now,
    impaired,
    onset: impaired ? onset : undefined,
    lastServedAt: impaired ? before?.at : undefined,
    recoveries,
    internal: internalView(signals.internal_services),
    external: externalView(signals.external_uptime),
    impact,
    blind,
    nodes: nodeView(input, onset),
    crossRegion: crossRegionView(input, onset),
    db: {
      status: statusOf(signals, 'db_replication_lag'),
      seconds: num(signals.db_replication_lag, 'seconds'),
      dataBehind: num(signals.db_replication_lag, 'data_behind_s'),
      preOnsetLag: num(before?.signals.db_replication_lag, 'seconds'),
      primaryAnswers: signals.db_replication_lag?.primary_answers === false ? false : undefined,
    },
    drSite: { status: statusOf(signals, 'dr_site'), present: Boolean(signals.dr_site) },
    crossCloud: { status: statusOf(signals, 'cross_cloud') },
    secondary: { status: statusOf(signals, 'secondary_region'), present: Boolean(signals.secondary_region) },
    metrics: metricsView(input),
    health: healthView(ctx, topology),
    ...edgeView(ctx, topology),
    drIncidents: drIncidentsOf(ctx, topology),
    changes: changesView(ctx, onset, now),
    ...textView(ctx, signals),
  };
}
