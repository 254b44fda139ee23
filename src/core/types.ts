/**
 * The vocabulary shared by every part of CloudPhoenix: what probes observe,
 * what context gatherers return, and what the decision core concludes.
 * Times are seconds on the caller's clock: offsets from the start in a replay,
 * Unix seconds in the live controller. The core never reads the wall clock.
 */

export type SignalStatus = 'ok' | 'degraded' | 'error' | 'unknown';

export const SIGNAL_STATUSES: readonly SignalStatus[] = ['ok', 'degraded', 'error', 'unknown'];

/** One probe's conclusion plus whatever it measured (healthy/total, seconds, latency_ms, ...). */
export interface Signal {
  status: SignalStatus;
  detail?: string;
  [measure: string]: unknown;
}

/**
 * Structured facts a probe may attach to a signal (scenario format v1.1).
 * Where a structured fact and `detail` disagree, the structured fact wins.
 */
export interface ZoneNodeCount {
  ready: number;
  total: number;
}

/** One AWS API of the primary region, called from another region. */
export interface CrossRegionCheck {
  /** The region (or vantage) the call was made from. */
  from: string;
  /** AWS service, lower case as in SDK client names: `ec2`, `rds`, `elasticloadbalancing`. */
  service: string;
  /** Optional API operation, e.g. `DescribeAvailabilityZones`, `RunInstances(DryRun)`. */
  operation?: string;
  ok: number;
  total: number;
  /** The AWS error code or transport failure of the failed calls (`timeout`, `InternalFailure`, `ThrottlingException`). */
  error?: string;
}

export interface VantageResult {
  name: string;
  up: boolean;
  detail?: string;
}

export interface FailingService {
  name: string;
  reason?: string;
}

/** The structured facts each scored signal may carry, by signal. All optional. */
export interface StructuredFacts {
  /** eks_nodes: per zone, keyed by zone name (`us-east-1a`) or zone ID (`use1-az1`). */
  zones?: Record<string, ZoneNodeCount>;
  /** eks_nodes: pods in CrashLoopBackOff on Ready nodes. */
  crashlooping?: number;
  /** aws_cross_region: per API call. */
  checks?: CrossRegionCheck[];
  /** external_uptime: each outside vantage point. */
  vantages?: VantageResult[];
  /** internal_services: which services fail, and how. */
  failing?: FailingService[];
}

/** Every signal in force at one instant, by name. Unknown names are allowed and ignored by scoring. */
export type SignalSnapshot = Record<string, Signal>;

/** The six scored signals of the original specification. */
export const SCORED_SIGNALS = [
  'internal_services',
  'external_uptime',
  'cross_cloud',
  'db_replication_lag',
  'eks_nodes',
  'aws_cross_region',
] as const;
export type ScoredSignalName = (typeof SCORED_SIGNALS)[number];

export type AwsEventCategory = 'issue' | 'scheduledChange' | 'accountNotification' | 'investigation';
export type AwsEventStatus = 'open' | 'closed' | 'upcoming';

/** An AWS Health DescribeEvents entry, trimmed to what the analysis reads. */
export interface AwsHealthEvent {
  service: string;
  region: string;
  eventTypeCode: string;
  eventTypeCategory: AwsEventCategory;
  statusCode: AwsEventStatus;
  startTime?: number;
  description?: string;
}

export interface AwsHealthFeed {
  available: boolean;
  events?: AwsHealthEvent[];
  /** Why the feed is unavailable, when it is. */
  detail?: string;
}

export type IncidentImpact = 'none' | 'minor' | 'major' | 'critical';
export type IncidentStatus = 'investigating' | 'identified' | 'monitoring' | 'resolved';

/** An incident in the shape of Atlassian Statuspage v2 incidents/unresolved.json. */
export interface StatusIncident {
  name: string;
  status: IncidentStatus;
  impact: IncidentImpact;
  components?: string[];
  started?: number;
  body?: string;
}

export interface StatusFeed {
  available: boolean;
  incidents?: StatusIncident[];
  detail?: string;
}

export interface LogLine {
  service?: string;
  level?: string;
  line: string;
}

export type ChangeKind = 'deploy' | 'config' | 'migration' | 'scaling' | 'infra';

export interface ChangeRecord {
  at: number;
  kind: ChangeKind;
  service?: string;
  description: string;
}

/** What the context gatherers found at one instant. Every part is optional. */
export interface IncidentContext {
  aws_health?: AwsHealthFeed;
  cloudflare?: StatusFeed;
  azure_status?: StatusFeed;
  /** Further Statuspage-shaped provider feeds the user configured, by name. */
  status_pages?: Record<string, StatusFeed>;
  metrics?: Record<string, number>;
  logs?: LogLine[];
  changes?: ChangeRecord[];
}

export interface Site {
  cloud: string;
  region?: string;
  /** Cloud services the system uses, in AWS Health's names. Absent: any may matter. */
  services?: string[];
  /** The most data, in seconds of writes, that a failover to this site may lose. */
  rpo_budget_s?: number;
  [fact: string]: unknown;
}

export type SiteRole = 'primary' | 'secondary' | 'dr';

export interface Topology {
  primary: Site;
  secondary?: Site;
  dr: Site;
  edge?: { provider?: string; fronts?: SiteRole[] };
}

export const DEFAULT_TOPOLOGY: Topology = {
  primary: { cloud: 'aws', region: 'us-east-1' },
  dr: { cloud: 'azure', region: 'eastus2' },
  edge: { provider: 'cloudflare', fronts: ['primary', 'dr'] },
};

export type Level = 'none' | 'self_heal' | 'region_failover' | 'dr_failover';
export const LEVELS: readonly Level[] = ['none', 'self_heal', 'region_failover', 'dr_failover'];

/** What a decision may do. `escalate` hands the call to a human (an approval), never to an action. */
export type Action = Level | 'escalate';

export type RecommendedAction = 'trigger_dr' | 'region_failover' | 'self_heal' | 'none' | 'escalate';
export type Confidence = 'low' | 'medium' | 'high';

export const ROOT_CAUSE_CATEGORIES = [
  'aws_infrastructure',
  'azure_infrastructure',
  'cloudflare_infrastructure',
  'internal_application',
  'internal_database',
  'internal_config',
  'capacity',
  'monitoring_fault',
  'planned_maintenance',
  'unknown',
] as const;
export type RootCauseCategory = (typeof ROOT_CAUSE_CATEGORIES)[number];

/** One fact an analysis rests on, pointing at the signal or context item it came from. */
export interface EvidenceItem {
  /** e.g. `signal:eks_nodes`, `context:aws_health`, `context:logs`, `history:internal_services`. */
  source: string;
  /** Which item of that source: an event code, a log excerpt, a change description. */
  item: string;
  /** Signed strength: positive points at the primary cloud's infrastructure, negative at ourselves. */
  weight: number;
  /** What the item says, in one sentence. */
  says: string;
}

/** The seed's analysis contract plus the evidence it rests on. */
/**
 * How much of what users do is failing, from the facts that see it from outside: vantage points in
 * independent failure domains, the request rate against its baseline, the error rate. `unknown` when
 * nothing outside answers.
 */
export interface ImpactAssessment {
  users: 'total' | 'partial' | 'none' | 'unknown';
  /** Since when the loss has been total without a break (seconds on the caller's clock). */
  total_since?: number;
  /** How long the total loss has held, as the confirmation windows measure it. */
  held_s: number;
  /** The facts behind the assessment, for people. */
  basis: string[];
}

export interface Analysis {
  root_cause: string;
  root_cause_category: RootCauseCategory;
  confidence: Confidence;
  recommended_action: RecommendedAction;
  reasoning: string;
  evidence: EvidenceItem[];
  /** Which analyzer produced it. */
  analyzer: string;
  /** DR-readiness facts the analyzer established, for the policy gate. */
  dr_ready?: { ready: boolean; reasons: string[] };
  /** What users lose, beside the symptom score: the policy may act on a total, lasting loss. */
  impact?: ImpactAssessment;
  /** Free-form extras (LLM prompt and answer, latency). */
  extra?: Record<string, unknown>;
}

export interface ScoreContribution {
  signal: string;
  status: SignalStatus;
  weight: number;
  max: number;
}

export interface ScoreResult {
  score: number;
  level: Level;
  contributions: ScoreContribution[];
  /** Signals present in the snapshot that scoring does not know, and other remarks. */
  notes: string[];
}

/** What one cycle concluded. Every cycle yields one, including "no action, because ...". */
export interface Decision {
  at: number;
  action: Action;
  score: number;
  level: Level;
  category: RootCauseCategory;
  confidence: Confidence;
  reason: string;
  /** Policy rules that held a more drastic action back. */
  blocked_by: string[];
  analysis?: Analysis;
}
