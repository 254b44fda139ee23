import type { Confidence, EvidenceItem, RecommendedAction, RootCauseCategory } from '../../core/index.js';
import { formatDuration } from '../../core/index.js';
import type { AnalysisInput } from '../analyzer.js';
import { item, type Finding } from './explanation.js';
import { drReadiness, type Readiness } from './explanations/index.js';
import type { Features } from './features.js';
import { heldFor } from './impact.js';
import { servingName, siteName } from './sites.js';

/**
 * Time and readiness before a failover: the failure must persist through the confirmation window of the
 * failover it calls for (a region failover inside the primary cloud is cheaper than a cross-cloud DR, so its
 * window is shorter), the DR level must hold a while (hysteresis), and the target site must be ready.
 */

export interface GateResult {
  action: RecommendedAction;
  confidence: Confidence;
  reasoning: string;
  evidence: EvidenceItem[];
  readiness: Readiness;
}

export function confidenceFor(strength: number, margin: number): Confidence {
  if (strength >= 7 && margin >= 3) return 'high';
  if (strength >= 4 && margin >= 1) return 'medium';
  return 'low';
}

export { heldFor };

/** Whether the warm secondary region can take over: healthy, no AWS issue of its own, not a global event. */
function secondaryReady(f: Features, input: AnalysisInput, category: RootCauseCategory): boolean {
  return (
    f.sites.serving === 'primary' &&
    Boolean(input.topology.secondary) &&
    f.secondary.present &&
    f.secondary.status === 'ok' &&
    f.health.secondaryIssues.length === 0 &&
    // A global AWS event (IAM, STS global endpoint) reaches the secondary region too.
    !f.health.regionalIssues.some((e) => e.region.toLowerCase() === 'global') &&
    category === f.sites.category
  );
}

/** How long the score has been at the DR level without a break. */
function drLevelSince(input: AnalysisInput): number {
  let since = input.now;
  for (let i = input.history.length - 1; i >= 0 && input.history[i].level === 'dr_failover'; i--)
    since = input.history[i].at;
  return since;
}

function supportingReasons(cloudCause: boolean, evidence: EvidenceItem[]): string {
  return (
    evidence
      // For the cloud's cause the supporting items weigh positive; for an edge cause they point away from it.
      .filter((e) => (cloudCause ? e.weight > 0 : e.weight !== 0))
      .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
      .slice(0, 4)
      .map((e) => e.says)
      .join('; ')
  );
}

export function gateFailover(f: Features, input: AnalysisInput, cause: Finding, rival?: Finding): GateResult {
  const confidence = confidenceFor(cause.strength, cause.strength - (rival?.strength ?? 0));
  // The serving site's cloud failing (not the edge in front of it).
  const cloudCause = cause.category === f.sites.category;
  const readiness = drReadiness(f, cloudCause);
  const evidence = [...readiness.evidence];
  const toSecondary = secondaryReady(f, input, cause.category);
  const target = toSecondary ? 'region failover' : 'DR failover';
  const base = toSecondary ? input.decision.confirm_window_region_s : input.decision.confirm_window_dr_s;
  // Flapping, or a change of ours just before the onset that has not been rolled back, needs a longer look.
  const flapping = f.recoveries >= 2;
  const unresolvedChange = f.changes.beforeOnset.length > 0 && !f.changes.rollbackFailed;
  const window = base * (flapping || unresolvedChange ? 2 : 1);
  const elapsed = f.onset !== undefined ? f.now - f.onset : 0;
  const sustained = f.onset !== undefined ? heldFor(input, f.onset) : 0;
  const gate = (reasoning: string): GateResult => ({
    action: 'self_heal',
    confidence,
    reasoning,
    evidence,
    readiness,
  });
  if (sustained < window) {
    const why = flapping
      ? ' (lengthened: the signals flapped)'
      : unresolvedChange
        ? ' (lengthened: a change of ours came just before it)'
        : '';
    return gate(
      `${cloudCause ? `An ${f.sites.cloud} infrastructure failure` : 'An edge failure'} is likely (evidence ${cause.strength}); confirming: it has lasted ${formatDuration(elapsed)} of the ${formatDuration(window)} confirmation window${why} before a ${target}.`,
    );
  }
  // Hysteresis: the DR level itself must hold for half the base window (at least a cycle), so a long mild
  // degradation that turns severe is not failed over the moment it crosses the threshold.
  const since = drLevelSince(input);
  const needed = Math.max(input.interval_s, base / 2);
  if (input.score.level === 'dr_failover' && heldFor(input, since) < needed)
    return gate(
      `The failure has lasted ${formatDuration(elapsed)} but has been at the DR level for only ${formatDuration(input.now - since)}; holding until it stays there ${formatDuration(needed)}, so a score flapping around the threshold does not trigger a failover.`,
    );
  if (f.sites.serving !== 'primary') return beyondServing(f, input, cause, confidence, elapsed);
  if (toSecondary)
    evidence.push(
      item(
        'signal:secondary_region',
        'ok',
        2,
        'the warm secondary region is healthy and the failure is confined to the primary region',
      ),
    );
  const { standbyName } = f.sites;
  const readyText = toSecondary
    ? 'The secondary region is healthy, so a region failover restores service with less risk than DR.'
    : readiness.ready
      ? `${standbyName.charAt(0).toUpperCase()}${standbyName.slice(1)} is healthy and within the RPO budget.`
      : `But ${standbyName} is not ready: ${readiness.reasons.join('; ')}; failing over would move users into another outage.`;
  return {
    action: toSecondary ? 'region_failover' : 'trigger_dr',
    confidence,
    reasoning: `Sustained for ${formatDuration(elapsed)}: ${supportingReasons(cloudCause, cause.evidence)}. ${readyText}`,
    evidence,
    readiness,
  };
}

/**
 * The serving site is not the primary and its own failure is confirmed. A failover moves traffic onward, to a
 * site the topology declares beside the serving one and the old primary; the old primary is none (traffic goes
 * back to it by reprotect and failback, once it is healthy). With no onward site, a person must act: escalate.
 * With one, recommend moving there and say what is known of its readiness: the probes that reach the analysis
 * while another site serves describe that site, so the onward site is ready only where a probe shows it.
 */
function beyondServing(
  f: Features,
  input: AnalysisInput,
  cause: Finding,
  confidence: Confidence,
  elapsed: number,
): GateResult {
  const serving = servingName(f.sites);
  const failing = `Sustained for ${formatDuration(elapsed)}: ${supportingReasons(cause.category === f.sites.category, cause.evidence)}.`;
  const onward = f.sites.onward;
  if (!onward) {
    const why = `no further site to fail over to from ${serving}: the topology declares no site beside it and ${f.sites.standbyName}, which traffic left`;
    return {
      action: 'escalate',
      confidence,
      reasoning: `${failing} ${serving.charAt(0).toUpperCase()}${serving.slice(1)} is the site failing, and there is ${why}. Traffic goes back there only by reprotect then failback, once it is healthy; until then a person must act (the provider, capacity, the way back).`,
      evidence: [],
      readiness: { ready: false, reasons: [why], evidence: [] },
    };
  }
  const target = siteName(input.topology, onward);
  const reasons: string[] = [];
  if (onward === 'secondary') {
    if (!f.secondary.present)
      reasons.push(
        `no probe that reaches the analysis while ${f.sites.serving} serves shows ${target} healthy`,
      );
    else if (f.secondary.status !== 'ok')
      reasons.push(`${target} fails (secondary_region ${f.secondary.status})`);
    const issue = f.health.secondaryIssues[0];
    if (issue) reasons.push(`AWS Health reports an open ${issue.service} issue in ${issue.region}`);
  } else {
    // dr_site and the {{standby.*}} probes describe the old primary while another site serves.
    reasons.push(`no probe that reaches the analysis while ${f.sites.serving} serves describes ${target}`);
  }
  const ready = reasons.length === 0;
  return {
    action: onward === 'secondary' ? 'region_failover' : 'trigger_dr',
    confidence,
    reasoning: `${failing} ${serving.charAt(0).toUpperCase()}${serving.slice(1)} is the site failing; the site to fail over to is ${target}${ready ? ', which is healthy' : `, not shown ready: ${reasons.join('; ')}`}.`,
    evidence: [],
    readiness: { ready, reasons, evidence: [] },
  };
}
