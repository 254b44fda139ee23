import type { Topology } from '../core/index.js';
import {
  LINT_RULES,
  type LintRule,
  type RunbookConfig,
  type RunbooksConfig,
  type StepConfig,
} from '../config/sections/runbooks.js';

/**
 * The runbook lint: failovers that the schema accepts but that cannot work, or are unsafe, during the
 * outage they exist for. Each rule is explained in docs/runbook-lint.md; a finding refuses the
 * configuration unless its rule is named in `runbooks.lint.silence`.
 */
export interface LintFinding {
  rule: LintRule;
  path: string;
  message: string;
}

interface PlacedStep {
  step: StepConfig;
  /** The stage's index, and the step's index inside it. */
  i: number;
  j: number;
  parallel: boolean;
  /** The stage's own `required`, as written (undefined: the default). */
  stageRequired: boolean | undefined;
  path: string;
}

type Rule = (steps: PlacedStep[], topology: Topology) => Array<Omit<LintFinding, 'rule'>>;

function placed(runbook: RunbookConfig, name: string): PlacedStep[] {
  return runbook.stages.flatMap((stage, i) =>
    stage.steps.map((step, j) => ({
      step,
      i,
      j,
      parallel: stage.parallel ?? false,
      stageRequired: stage.required,
      path: `runbooks.${name}.stages.${i}.steps.${j}`,
    })),
  );
}

const param = (s: PlacedStep, key: string): unknown => s.step.params?.[key];

/** True when `a` may run after `b` has started: a later stage, the same parallel stage, or later in the stage. */
const runsAfter = (a: PlacedStep, b: PlacedStep) => a.i > b.i || (a.i === b.i && (a.parallel || a.j > b.j));

const fenceAfterTraffic: Rule = (steps) => {
  const dns = steps.find((s) => s.step.type === 'dns');
  if (!dns) return [];
  return steps
    .filter((s) => s.step.type === 'fence' && runsAfter(s, dns))
    .map((s) => ({
      path: s.path,
      message: `step ${s.step.name} fences the old primary after step ${dns.step.name} has moved traffic: users may write to both sites meanwhile; put the fence stage before the DNS stage`,
    }));
};

const primaryRead: Rule = (steps, topology) =>
  steps.flatMap((s) => {
    const reason =
      s.step.type === 'storage_sync' && param(s, 'direction') !== 'azure_to_s3'
        ? `copies from S3 (${topology.primary.cloud} ${topology.primary.region ?? ''}), which is in the failing region; keep Blob current continuously (an event-driven replicator) and copy nothing at failover`
        : s.step.type === 'database' && param(s, 'action') === 'dump_restore'
          ? 'dumps the primary database, which is in the failing region; replicate continuously and cut over (action: cutover)'
          : undefined;
    return reason ? [{ path: s.path, message: `step ${s.step.name} ${reason}` }] : [];
  });

/** Route 53's change API (its control plane) is served from us-east-1 only. */
const ROUTE53_CONTROL_PLANE_REGION = 'us-east-1';

const dnsControlPlaneOnly: Rule = (steps, topology) => {
  if (topology.primary.cloud !== 'aws' || topology.primary.region !== ROUTE53_CONTROL_PLANE_REGION) return [];
  return steps
    .filter((s) => s.step.type === 'dns' && param(s, 'provider') === 'route53' && !s.step.only_if_failed)
    .map((s) => ({
      path: s.path,
      message: `step ${s.step.name} moves traffic only through Route 53's change API, whose control plane is in ${ROUTE53_CONTROL_PLANE_REGION}, the failing primary region; switch with route53_arc routing controls or azure_traffic_manager (data plane / the DR cloud) and keep this step as their fallback (only_if_failed)`,
    }));
};

const OPENING_ACTIONS = new Set(['promote', 'cutover', 'azure_promote']);

const databaseWithoutRpoGate: Rule = (steps, topology) =>
  steps.flatMap((s) => {
    const action = param(s, 'action');
    if (s.step.type !== 'database' || !OPENING_ACTIONS.has(String(action))) return [];
    const reason =
      action === 'azure_promote'
        ? 'promotes an Azure replica without measuring its lag against the RPO budget'
        : param(s, 'force') === true
          ? 'sets force: true, so data at risk over the RPO budget does not stop it'
          : param(s, 'max_lag') === undefined && topology.dr.rpo_budget_s === undefined
            ? 'has no max_lag and topology.dr.rpo_budget_s is not set, so no data loss stops it; set topology.dr.rpo_budget_s'
            : undefined;
    return reason ? [{ path: s.path, message: `step ${s.step.name} ${reason}` }] : [];
  });

/** A traffic stage that may do nothing: the failover would end succeeded, DR marked serving, traffic unmoved. */
const trafficStageNotRequired: Rule = (steps) => {
  const stages = new Map<number, PlacedStep[]>();
  for (const s of steps)
    if (s.step.type === 'dns' && s.stageRequired === false) stages.set(s.i, [...(stages.get(s.i) ?? []), s]);
  return [...stages.entries()].map(([i, dns]) => ({
    path: `runbooks.dr_failover.stages.${i}.required`,
    message: `stage ${i} moves traffic (${dns.map((s) => s.step.name).join(', ')}) but says required: false: if every step of it fails, the failover goes on, ends succeeded and the site state says DR serves while users still reach the primary; remove required: false`,
  }));
};

const RULES: Record<LintRule, Rule> = {
  'fence-after-traffic': fenceAfterTraffic,
  'primary-read-during-failover': primaryRead,
  'dns-control-plane-only': dnsControlPlaneOnly,
  'database-without-rpo-gate': databaseWithoutRpoGate,
  'traffic-stage-not-required': trafficStageNotRequired,
};

/** The lint's findings on the DR failover runbook, without the rules `runbooks.lint.silence` names. */
export function lintRunbooks(runbooks: RunbooksConfig, topology: Topology): LintFinding[] {
  const failover = runbooks.dr_failover;
  if (!failover) return [];
  const silenced = new Set<string>(runbooks.lint?.silence ?? []);
  const steps = placed(failover, 'dr_failover');
  return LINT_RULES.filter((rule) => !silenced.has(rule)).flatMap((rule) =>
    RULES[rule](steps, topology).map((finding) => ({
      rule,
      path: finding.path,
      message: `${finding.message} (lint rule ${rule}; docs/runbook-lint.md; silence with runbooks.lint.silence: [${rule}])`,
    })),
  );
}
