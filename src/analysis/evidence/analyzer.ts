import type { Analysis, Confidence, EvidenceItem, Level, RecommendedAction } from '../../core/index.js';
import { formatDuration } from '../../core/index.js';
import type { AnalysisInput, Analyzer } from '../analyzer.js';
import { arbitrate, type Verdict } from './arbiter.js';
import { item, type CloudFinding, type Finding } from './explanation.js';
import { extractFeatures } from './extract.js';
import type { Features } from './features.js';
import { confidenceFor, gateFailover, heldFor, type GateResult } from './gate.js';
import { primaryServing, whileServing } from './serving.js';

/**
 * The evidence analyzer, top to bottom: read the features (features.ts); if the primary still serves its users,
 * say why it fails anyway (serving.ts); else let every explanation weigh the features (explanations/) and the
 * arbiter compare them (arbiter.ts); a primary-cloud verdict then passes the time and readiness gate (gate.ts).
 */

const ADVICE: Record<string, string> = {
  internal_application:
    'Roll back or fix the workload; the DR site runs the same release and data and would fail the same way.',
  internal_database:
    'Stop or batch the offending database work; failing over would lose the data the replica has not received.',
  internal_config:
    'Fix the configuration (certificate, records, flag); the DR site depends on the same configuration.',
  capacity: 'Add capacity and shed load; a colder DR site would receive the same load.',
  planned_maintenance:
    'Planned provider maintenance; it ends on its own sooner than a failover would complete.',
  monitoring_fault: 'Fix our own monitoring; the system is not the problem.',
  cloudflare_infrastructure:
    'The edge provider fronts the DR site too; failing over would send users through the same broken edge. Wait for the provider.',
};

type Result = Omit<Analysis, 'analyzer' | 'reasoning' | 'evidence'> & {
  reasoning: string;
  evidence: EvidenceItem[];
};

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function cheapAction(input: AnalysisInput): RecommendedAction {
  return input.score.level === 'none' ? 'none' : 'self_heal';
}

function fromGate(cause: Finding, dr: GateResult, extra: EvidenceItem[] = []): Result {
  return {
    root_cause: cause.root_cause,
    root_cause_category: cause.category,
    confidence: dr.confidence,
    recommended_action: dr.action,
    reasoning: dr.reasoning,
    evidence: [...cause.evidence, ...dr.evidence, ...extra],
    dr_ready: { ready: dr.readiness.ready, reasons: dr.readiness.reasons },
  };
}

/** A rival explanation won: act on it (the edge may call for DR where it does not front the DR site). */
function rivalResult(f: Features, input: AnalysisInput, rival: Finding, cloud: CloudFinding): Result {
  const fronts = input.topology.edge?.fronts ?? ['primary', 'dr'];
  if (rival.category === 'cloudflare_infrastructure' && !fronts.includes('dr'))
    return fromGate(rival, gateFailover(f, input, { ...rival, strength: rival.strength + 3 }));
  const action: RecommendedAction =
    rival.category === 'cloudflare_infrastructure' ? 'none' : cheapAction(input);
  const against =
    cloud.strength > 0
      ? ` ${f.sites.cloud}-side evidence is weaker (${cloud.strength} vs ${rival.strength}).`
      : ` ${f.sites.cloud} infrastructure looks healthy.`;
  return {
    root_cause: rival.root_cause,
    root_cause_category: rival.category,
    confidence: confidenceFor(rival.strength + 3, rival.strength - cloud.strength),
    recommended_action: action,
    reasoning: `${capitalize(rival.root_cause)}. ${ADVICE[rival.category] ?? ''}${against}`,
    evidence: [...rival.evidence, ...cloud.evidence],
  };
}

/**
 * Impact over locality: a cause confined to one zone is absorbed by the multi-AZ design only while users are
 * served. Once the service has been down for (nearly) everyone for a DR confirmation window, what users see
 * outranks where the cause sits, and the failure is gated like any other primary-cloud failure.
 */
function zonalResult(f: Features, input: AnalysisInput, cloud: CloudFinding): Result | undefined {
  const since = f.impact.total_since;
  if (since !== undefined && heldFor(input, since) >= input.decision.confirm_window_dr_s) return undefined;
  const watching = since !== undefined;
  return {
    root_cause: cloud.root_cause,
    root_cause_category: cloud.category,
    confidence: 'medium',
    recommended_action: 'self_heal',
    reasoning: watching
      ? `The cause sits in one Availability Zone, but users everywhere have been failing for ${formatDuration(input.now - since)}; self-heal, and if it lasts ${formatDuration(input.decision.confirm_window_dr_s)} the multi-AZ design has not absorbed it.`
      : 'The failure is confined to one Availability Zone; the multi-AZ design absorbs it. Cordon the zone and keep capacity in the others; a failover is unnecessary.',
    evidence: cloud.evidence,
  };
}

function verdictResult(f: Features, input: AnalysisInput, verdict: Verdict): Result {
  const { cloud } = verdict;
  if (verdict.kind === 'rival') return rivalResult(f, input, verdict.rival, cloud);
  if (verdict.kind === 'cloud') {
    const local = cloud.zonal ? zonalResult(f, input, cloud) : undefined;
    if (local) return local;
    if (cloud.zonal)
      cloud.evidence.push(
        item(
          'signal:external_uptime',
          f.external.status,
          1,
          'users everywhere fail although the cause sits in one zone: the multi-AZ design did not absorb it',
        ),
      );
    return fromGate(cloud, gateFailover(f, input, cloud, verdict.rival), verdict.rival?.evidence);
  }
  const weak = verdict.kind === 'weak-cloud';
  return {
    root_cause: weak ? cloud.root_cause : 'no clear cause',
    root_cause_category: weak ? cloud.category : 'unknown',
    confidence: 'low',
    recommended_action: weak || input.score.level !== 'dr_failover' ? cheapAction(input) : 'escalate',
    reasoning: weak
      ? `Some ${f.sites.cloud}-side signals fail, but not enough to blame the provider yet; self-heal and keep watching.`
      : `The evidence points at no single cause; nothing suggests ${f.sites.serving === 'primary' ? 'the primary cloud' : `the serving site's cloud (${f.sites.cloud})`} is failing. A human should look.`,
    evidence: weak ? cloud.evidence : [...cloud.evidence, ...verdict.rivals.flatMap((r) => r.evidence)],
  };
}

function decide(f: Features, input: AnalysisInput): Result {
  if (!f.impaired)
    return {
      root_cause: 'no failure',
      root_cause_category: 'unknown',
      confidence: 'high',
      recommended_action: 'none',
      reasoning: `score ${input.score.score}: every signal is within its normal range.`,
      evidence: [],
    };
  if (primaryServing(f)) {
    const s = whileServing(f, input);
    const confidence: Confidence = s.category === 'unknown' ? 'medium' : 'high';
    return {
      root_cause: s.root_cause,
      root_cause_category: s.category,
      confidence,
      recommended_action: s.action,
      reasoning: s.reasoning,
      evidence: s.evidence,
    };
  }
  return verdictResult(f, input, arbitrate(f));
}

export function analyzeEvidence(input: AnalysisInput): Analysis {
  const f = extractFeatures(input);
  const result = decide(f, input);
  const flags = f.injections.map((text) =>
    item(
      'context:untrusted',
      text.slice(0, 120),
      0,
      'text that reads like an instruction inside untrusted data: ignored as evidence and flagged',
    ),
  );
  return {
    analyzer: 'evidence',
    ...result,
    impact: f.impact,
    reasoning: flags.length
      ? `${result.reasoning} Red flag: ${flags.length} instruction-like text(s) in logs or status pages were ignored.`
      : result.reasoning,
    evidence: [...result.evidence, ...flags],
  };
}

/**
 * The default analyzer: a deterministic evidence engine that needs no network. It weighs the primary cloud
 * against explanations that point at ourselves, at the edge, at planned work or at our own monitoring, and it
 * recommends a failover only for a sustained primary-cloud failure that the target site can absorb.
 */
export class EvidenceAnalyzer implements Analyzer {
  readonly name = 'evidence';
  readonly gated = true;

  wants(_level: Level): boolean {
    return true;
  }

  async analyze(input: AnalysisInput): Promise<Analysis> {
    return analyzeEvidence(input);
  }
}
