import type { AwsHealthEvent, ChangeRecord, ImpactAssessment, StatusIncident } from '../../core/index.js';
import type { Blindness } from './unknowns.js';
import type { TextFamily } from './text.js';
import type { ZoneSpread } from './zones.js';
import type { SiteView } from './sites.js';

/** A status-page incident touching one of our sites, with the context source it came from. */
export interface SiteIncident {
  source: string;
  incident: StatusIncident;
}

/** What the evidence engine reads off one cycle, its history and its context. */
export interface Features {
  now: number;
  /** Which site serves users (its cloud is the one a cloud failure is about) and which would take over. */
  sites: SiteView;
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
    /** Open issues where the serving site runs (empty while a site outside AWS serves). */
    regionalIssues: AwsHealthEvent[];
    secondaryIssues: AwsHealthEvent[];
    /** Open issues where the standby runs, when it is on AWS (the old primary while DR serves). */
    standbyIssues: AwsHealthEvent[];
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
  /** Status-page incidents of the serving site's cloud touching it (for a site outside AWS). */
  servingIncidents: SiteIncident[];
  /** Status-page incidents of the standby's cloud touching it (the DR site while the primary serves). */
  standbyIncidents: SiteIncident[];
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
