import type {
  Analysis,
  Confidence,
  EvidenceItem,
  Level,
  RecommendedAction,
  RootCauseCategory,
} from '../../core/index.js';
import { formatDuration } from '../../core/index.js';
import type { AnalysisInput, Analyzer } from '../analyzer.js';
import { extractFeatures, isBad, type Features } from './features.js';
import { firstOf, type TextFamily } from './text.js';

/** One candidate explanation and how strongly the evidence supports it. */
interface Explanation {
  category: RootCauseCategory;
  strength: number;
  root_cause: string;
  evidence: EvidenceItem[];
}

function item(source: string, itemText: string, weight: number, says: string): EvidenceItem {
  return { source, item: itemText, weight, says };
}

function count(f: Features, family: TextFamily): number {
  return (f.logs.tally.get(family) ?? 0) + (f.details.tally.get(family) ?? 0);
}

function example(f: Features, family: TextFamily): string {
  return firstOf(f.logs.lines, family) ?? firstOf([f.details.text], family) ?? family;
}

function errorRateNormal(f: Features): boolean {
  const { errorRate, baseErrorRate } = f.metrics;
  if (errorRate === undefined) return true;
  return errorRate <= Math.max(0.02, 3 * (baseErrorRate ?? 0.005));
}

/** Evidence that the primary cloud's infrastructure is failing, and how widely. */
function awsInfrastructure(f: Features): Explanation & { structural: boolean; zonal: boolean } {
  const evidence: EvidenceItem[] = [];
  let strength = 0;
  const cross = f.crossRegion.status;
  if (cross === 'error') {
    strength += 4;
    evidence.push(
      item(
        'signal:aws_cross_region',
        'error',
        4,
        'the primary region’s AWS APIs fail when called from another region',
      ),
    );
  } else if (cross === 'degraded') {
    strength += 2;
    evidence.push(
      item(
        'signal:aws_cross_region',
        'degraded',
        2,
        'the primary region’s AWS APIs partly fail from another region',
      ),
    );
  }
  const nodeLoss = !f.nodes.explained && !f.nodes.podsOnly && f.nodes.notReadyShare > 0;
  if (nodeLoss && f.nodes.notReadyShare >= 0.3) {
    const w = f.nodes.zones === 'multi' ? 4 : 3;
    strength += w;
    evidence.push(
      item(
        'signal:eks_nodes',
        `${Math.round(f.nodes.notReadyShare * 100)}% NotReady`,
        w,
        `nodes are NotReady${f.nodes.zones === 'multi' ? ' in several Availability Zones' : ''}`,
      ),
    );
  } else if (nodeLoss) {
    strength += 1;
    evidence.push(
      item(
        'signal:eks_nodes',
        `${Math.round(f.nodes.notReadyShare * 100)}% NotReady`,
        1,
        'a few nodes are NotReady',
      ),
    );
  } else if (f.nodes.unreadable) {
    strength += 1;
    evidence.push(item('signal:eks_nodes', f.nodes.status, 1, 'the Kubernetes API cannot be read'));
  }
  if (f.health.regionalIssues.length > 0) {
    const event = f.health.regionalIssues[0];
    strength += 5;
    evidence.push(
      item(
        'context:aws_health',
        event.eventTypeCode,
        5,
        `AWS Health reports an open ${event.service} issue in ${event.region}`,
      ),
    );
  }
  const { seconds, dataBehind } = f.db;
  if (
    seconds !== undefined &&
    dataBehind !== undefined &&
    seconds > 10 * Math.max(dataBehind, 1) &&
    isBad(f.db.status)
  ) {
    strength += 1;
    evidence.push(
      item(
        'signal:db_replication_lag',
        `${seconds}s lag, ${dataBehind}s behind`,
        1,
        'the replica receives no WAL although it holds nearly everything: the primary is unreachable or frozen',
      ),
    );
  }
  const awsLines = count(f, 'aws_endpoint') + count(f, 'dns_aws');
  if (awsLines > 0) {
    const w = awsLines >= 3 ? 2 : 1;
    strength += w;
    evidence.push(
      item(
        'context:logs',
        example(f, awsLines === count(f, 'dns_aws') ? 'dns_aws' : 'aws_endpoint'),
        w,
        `${awsLines} lines show AWS endpoints failing or not resolving`,
      ),
    );
  }
  if (count(f, 'node_loss') > 0 && nodeLoss) strength += 0.5;
  if (count(f, 'network_timeout') >= 2 && (cross !== 'ok' || nodeLoss)) {
    strength += 0.5;
    evidence.push(
      item(
        'context:logs',
        example(f, 'network_timeout'),
        0.5,
        'failures are network timeouts, not application errors',
      ),
    );
  }
  if ((f.internal.failingShare ?? 0) >= 0.5 && f.external.allDown && (cross !== 'ok' || nodeLoss)) {
    strength += 1;
    evidence.push(
      item(
        'signal:internal_services',
        f.internal.status,
        1,
        'most services fail together and the public endpoint is down everywhere',
      ),
    );
  }
  if (f.changes.beforeOnset.length === 0 && f.impaired) {
    strength += 1;
    evidence.push(item('context:changes', 'none', 1, 'nothing changed on our side before the failure began'));
  }
  const persistedAfterRollback = f.changes.rollbackFailed;
  if (persistedAfterRollback) {
    strength += 2;
    evidence.push(
      item(
        'context:changes',
        f.changes.rollbacks[0].description,
        2,
        'our change was rolled back and the failure did not stop',
      ),
    );
  }
  const structural =
    cross === 'degraded' ||
    cross === 'error' ||
    (nodeLoss && f.nodes.notReadyShare >= 0.3) ||
    f.health.regionalIssues.length > 0;
  const infraHealthy =
    (!f.crossRegion.present || cross === 'ok') && !nodeLoss && f.health.regionalIssues.length === 0;
  if (infraHealthy) {
    evidence.push(
      item(
        'signal:aws_cross_region',
        cross,
        -2,
        'AWS APIs answer from another region and every node is Ready',
      ),
    );
    strength = Math.min(strength, 1);
  }
  // Nodes failing while the AWS APIs answer normally from another region, right after a change of ours,
  // point at the change (a node image, CNI or DaemonSet) at least as much as at AWS.
  const ownChangePending =
    f.changes.beforeOnset.length > 0 && !persistedAfterRollback && f.health.regionalIssues.length === 0;
  if (f.crossRegion.present && cross === 'ok' && ownChangePending && !infraHealthy) {
    strength /= 2;
    evidence.push(
      item(
        'signal:aws_cross_region',
        'ok',
        -2,
        'the AWS APIs answer from another region while our change is fresh',
      ),
    );
  }
  // Nodes alone, while the AWS APIs answer from another region and AWS reports nothing, may be our
  // cluster rather than the cloud: never enough for a confident DR; a human decides (escalate).
  const nodesOnly = f.crossRegion.present && cross === 'ok' && f.health.regionalIssues.length === 0;
  // A structural failure that lasts is more telling than one that has just begun.
  if (structural && !infraHealthy && f.onset !== undefined) {
    const lasted = f.now - f.onset;
    const bonus = lasted >= 900 ? 2 : lasted >= 420 ? 1 : 0;
    if (bonus) {
      strength += bonus;
      evidence.push(
        item(
          'history:impairment',
          formatDuration(lasted),
          bonus,
          `the failure has lasted ${formatDuration(lasted)} without recovering`,
        ),
      );
    }
  }
  if (nodesOnly && strength > 6) {
    strength = 6;
    evidence.push(
      item(
        'signal:aws_cross_region',
        'ok',
        0,
        'AWS APIs answer normally from another region and AWS reports no issue: not confident it is the cloud',
      ),
    );
  }
  const healthText = f.health.regionalIssues.map((e) => e.description ?? '').join(' ');
  const zonal =
    (f.nodes.zones === 'single' ||
      f.crossRegion.zones === 'single' ||
      /single availability zone|other availability zones[^.]*not affected/i.test(healthText)) &&
    f.nodes.zones !== 'multi';
  const region = f.health.regionalIssues[0]?.region;
  return {
    category: 'aws_infrastructure',
    strength,
    structural,
    zonal,
    root_cause: zonal
      ? 'an AWS failure confined to one Availability Zone of the primary region'
      : `an AWS infrastructure failure in the primary region${region ? ` (${region})` : ''}`,
    evidence,
  };
}

/** Explanations that point at ourselves, at a provider in front of us, or at planned work. */
function otherExplanations(f: Features, aws: { strength: number }): Explanation[] {
  const out: Explanation[] = [];
  const add = (
    category: RootCauseCategory,
    strength: number,
    root_cause: string,
    evidence: EvidenceItem[],
  ): void => {
    const existing = out.find((e) => e.category === category);
    if (existing) {
      existing.strength += strength;
      existing.evidence.push(...evidence);
      if (strength > (existing as Explanation & { lead: number }).lead) {
        existing.root_cause = root_cause;
        (existing as Explanation & { lead: number }).lead = strength;
      }
    } else out.push({ category, strength, root_cause, evidence, lead: strength } as Explanation);
  };

  const persistedAfterRollback = f.changes.rollbackFailed;
  for (const change of f.changes.beforeOnset) {
    const onset = f.onset ?? f.now;
    const weight = persistedAfterRollback ? 0.5 : 3;
    const category: RootCauseCategory =
      change.kind === 'migration'
        ? 'internal_database'
        : change.kind === 'deploy'
          ? 'internal_application'
          : 'internal_config';
    if (change.kind === 'scaling') continue;
    if (
      change.kind === 'infra' &&
      /monitor|prober|phoenix/i.test(`${change.service ?? ''} ${change.description}`)
    ) {
      add('monitoring_fault', 2, 'a change to our own monitoring', [
        item(
          'context:changes',
          change.description,
          -2,
          'our monitoring changed right before the probes failed',
        ),
      ]);
      continue;
    }
    add(
      category,
      weight,
      `our ${change.kind} ${formatDuration(Math.max(0, onset - change.at))} before the failure began`,
      [
        item(
          'context:changes',
          change.description,
          -weight,
          `a ${change.kind}${change.service ? ` of ${change.service}` : ''} ${formatDuration(Math.max(0, onset - change.at))} before the failure began${persistedAfterRollback ? ', but rolling it back changed nothing' : ''}`,
        ),
      ],
    );
  }

  if (count(f, 'code_bug') > 0) {
    add('internal_application', 3, 'a bug in our own code', [
      item('context:logs', example(f, 'code_bug'), -3, 'stack traces and runtime errors from our own code'),
    ]);
  }
  if (count(f, 'memory') > 0) {
    add('internal_application', 4, 'a memory leak or exhaustion in our workload', [
      item(
        'context:logs',
        example(f, 'memory'),
        -4,
        'out-of-memory kills and memory pressure: our processes exhaust memory',
      ),
    ]);
  }
  if (f.nodes.podsOnly) {
    add('internal_application', 1, 'our workloads crash while every node is Ready', [
      item('signal:eks_nodes', f.nodes.status, -1, 'pods crash or restart while every node is Ready'),
    ]);
  }
  if (count(f, 'certificate') > 0) {
    add('internal_config', 6, 'an invalid or expired TLS certificate', [
      item(
        'context:logs',
        example(f, 'certificate'),
        -6,
        'TLS certificate validation fails; the DR site serves the same certificate',
      ),
    ]);
  }
  if (count(f, 'dns_own') > 0 && count(f, 'dns_aws') === 0) {
    const dnsChange = f.changes.beforeOnset.some((c) =>
      /dns|route ?53|record|zone/i.test(`${c.service ?? ''} ${c.description}`),
    );
    add('internal_config', dnsChange ? 5 : 3, 'our own DNS names stopped resolving', [
      item(
        'context:logs',
        example(f, 'dns_own'),
        dnsChange ? -5 : -3,
        `our own names do not resolve${dnsChange ? ' right after a change to our DNS' : ''}`,
      ),
    ]);
  }
  const thirdParty = count(f, 'third_party');
  if (thirdParty > 0 && aws.strength <= 2) {
    add('internal_application', 3, 'a third-party API we depend on is failing', [
      item(
        'context:logs',
        example(f, 'third_party'),
        -3,
        'only the paths that call a third-party API fail; DR uses the same provider',
      ),
    ]);
  }
  const traffic = f.metrics.trafficRatio;
  if (traffic !== undefined && traffic >= 2) {
    add('capacity', 3 + (count(f, 'pool_exhaustion') > 0 ? 1 : 0), 'a traffic surge beyond our capacity', [
      item(
        'context:metrics',
        `request_rate x${traffic.toFixed(1)}`,
        -3,
        `requests are ${traffic.toFixed(1)} times the baseline`,
      ),
    ]);
  }
  if (count(f, 'permission') > 0) {
    add('internal_config', 3, 'our credentials or permissions are refused', [
      item(
        'context:logs',
        example(f, 'permission'),
        -3,
        'AWS answers "access denied": our own credentials or policies fail, not the cloud',
      ),
    ]);
  }
  if (count(f, 'disk_full') > 0 && aws.strength <= 2) {
    add('internal_database', 4, 'a database or volume ran out of space', [
      item('context:logs', example(f, 'disk_full'), -4, 'storage is full: our data outgrew its volume'),
    ]);
  }
  if (isBad(f.db.status)) {
    const writes = f.metrics.writeRatio;
    if (writes !== undefined && writes >= 3) {
      add('internal_database', 2, 'our own write load outruns replication', [
        item(
          'context:metrics',
          `write volume x${writes.toFixed(0)}`,
          -2,
          'write/WAL volume grew far above its baseline',
        ),
      ]);
    }
    if (count(f, 'db_contention') > 0) {
      add('internal_database', 1, 'database contention from our own workload', [
        item('context:logs', example(f, 'db_contention'), -1, 'replica conflicts and lock timeouts'),
      ]);
    }
  }
  for (const event of f.health.maintenance) {
    const start = event.startTime;
    const onset = f.onset ?? f.now;
    if (event.statusCode === 'open' || (start !== undefined && Math.abs(onset - start) <= 600)) {
      add('planned_maintenance', 5, `planned ${event.service} maintenance`, [
        item(
          'context:aws_health',
          event.eventTypeCode,
          -5,
          `the failure coincides with scheduled ${event.service} maintenance`,
        ),
      ]);
    }
  }

  // A provider in front of the origin: users get errors, the origin sees few of them and less traffic.
  const trafficDropped = traffic !== undefined && traffic <= 0.5;
  const edgeShaped =
    f.external.allDown && errorRateNormal(f) && (trafficDropped || f.metrics.requestRate === undefined);
  const edgeNamed =
    f.edgeIncidents.length > 0 ||
    f.edgeFeedDown ||
    /cloudflare|cf-ray|fastly|akamai|cloudfront|\bcdn\b|\bedge\b|origin not contacted/i.test(
      f.details.text,
    ) ||
    (f.edgeProvider.length > 2 && f.details.text.toLowerCase().includes(f.edgeProvider));
  if (edgeShaped && edgeNamed && aws.strength <= 2 && count(f, 'certificate') === 0) {
    const evidence = [
      item(
        'signal:external_uptime',
        f.external.status,
        -3,
        'users get errors from the edge while the origin’s own error rate is normal and its traffic dropped',
      ),
    ];
    if (f.edgeIncidents[0])
      evidence.push(
        item('context:cloudflare', f.edgeIncidents[0].name, -3, 'the edge provider reports a major incident'),
      );
    add(
      'cloudflare_infrastructure',
      3 + (f.edgeIncidents.length ? 3 : f.edgeFeedDown ? 1 : 0),
      'an outage of the edge provider in front of the site',
      evidence,
    );
  }
  return out;
}

/** Whether moving to the DR site would help and is safe right now. */
function drReadiness(
  f: Features,
  input: AnalysisInput,
  primaryUnreachable: boolean,
): { ready: boolean; reasons: string[]; evidence: EvidenceItem[] } {
  const reasons: string[] = [];
  const evidence: EvidenceItem[] = [];
  if (f.drSite.present) {
    if (f.drSite.status === 'error' || (f.drSite.status === 'degraded' && f.drIncidents.length > 0)) {
      reasons.push(`the DR site fails from outside (dr_site ${f.drSite.status})`);
      evidence.push(item('signal:dr_site', f.drSite.status, -4, 'the DR site itself cannot serve'));
    }
  } else if (f.crossCloud.status === 'error') {
    reasons.push(
      'the DR site is unreachable from the primary and no outside view of it (dr_site) confirms it is healthy',
    );
    evidence.push(
      item('signal:cross_cloud', 'error', -2, 'the DR site does not answer and its health is unconfirmed'),
    );
  }
  if (f.drIncidents.length > 0) {
    const incident = f.drIncidents[0];
    reasons.push(`the DR cloud reports a ${incident.impact} incident: ${incident.name}`);
    evidence.push(
      item(
        'context:azure_status',
        incident.name,
        -4,
        'the DR cloud has an open incident touching the DR site',
      ),
    );
  }
  const budget = input.topology.dr.rpo_budget_s;
  if (budget !== undefined) {
    const behind = f.db.dataBehind ?? (primaryUnreachable ? f.db.preOnsetLag : f.db.seconds) ?? f.db.seconds;
    if (behind !== undefined && behind > budget) {
      reasons.push(`the DR replica is ${behind}s behind, over the RPO budget of ${budget}s`);
      evidence.push(
        item(
          'signal:db_replication_lag',
          `${behind}s behind`,
          -3,
          'failing over now would lose more data than the RPO budget allows',
        ),
      );
    }
  }
  return { ready: reasons.length === 0, reasons, evidence };
}

function confidenceFor(strength: number, margin: number): Confidence {
  if (strength >= 7 && margin >= 3) return 'high';
  if (strength >= 4 && margin >= 1) return 'medium';
  return 'low';
}

/**
 * The default analyzer: a deterministic evidence engine that needs no
 * network. It weighs structural signals (nodes, cross-region API checks, the
 * provider's own feed) against explanations that point at ourselves (changes,
 * stack traces, memory, certificates, our DNS, traffic, our writes), at the
 * edge, at planned work or at our own monitoring, and it recommends DR only for
 * a sustained primary-cloud failure that the DR site can absorb.
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

export function analyzeEvidence(input: AnalysisInput): Analysis {
  const f = extractFeatures(input);
  const flags = f.injections.map((text) =>
    item(
      'context:untrusted',
      text.slice(0, 120),
      0,
      'text that reads like an instruction inside untrusted data: ignored as evidence and flagged',
    ),
  );
  const result = (
    category: RootCauseCategory,
    action: RecommendedAction,
    confidence: Confidence,
    root_cause: string,
    reasoning: string,
    evidence: EvidenceItem[],
    dr_ready?: { ready: boolean; reasons: string[] },
  ): Analysis => ({
    analyzer: 'evidence',
    root_cause,
    root_cause_category: category,
    confidence,
    recommended_action: action,
    reasoning: flags.length
      ? `${reasoning} Red flag: ${flags.length} instruction-like text(s) in logs or status pages were ignored.`
      : reasoning,
    evidence: [...evidence, ...flags],
    dr_ready,
  });

  if (!f.impaired) {
    return result(
      'unknown',
      'none',
      'high',
      'no failure',
      `score ${input.score.score}: every signal is within its normal range.`,
      [],
    );
  }

  // 1. The primary still serves its users: whatever fails is not a reason to move them.
  const traffic = f.metrics.trafficRatio;
  const metricsNormal =
    f.metrics.errorRate !== undefined &&
    errorRateNormal(f) &&
    traffic !== undefined &&
    traffic >= 0.7 &&
    traffic <= 1.5;
  const primaryServing =
    (f.external.present && f.external.allUp && errorRateNormal(f)) ||
    (!f.external.present && metricsNormal && (f.internal.failingShare ?? 0) >= 0.8);
  if (primaryServing) {
    const proberWide =
      [f.internal.status, f.nodes.status, f.crossRegion.status].filter((s) => s === 'error').length >= 2;
    const drSide = isBad(f.drSite.status) || isBad(f.crossCloud.status) || f.drIncidents.length > 0;
    const serving = item(
      'signal:external_uptime',
      'ok',
      -5,
      'every outside vantage point reaches the public endpoint and the error rate is normal',
    );
    if (proberWide) {
      return result(
        'monitoring_fault',
        'none',
        'high',
        'our prober cannot reach what it checks; the system itself serves normally',
        'Probes from our own prober fail together while every external vantage point reaches the site and traffic and error rates are normal: the observer is partitioned, not the system. Fix the prober; do not fail over.',
        [
          serving,
          item(
            'signal:internal_services',
            f.internal.status,
            -3,
            'only probes that originate from our prober fail',
          ),
        ],
      );
    }
    if (drSide) {
      return result(
        'azure_infrastructure',
        'none',
        'high',
        'the DR site or the path to it is impaired; the primary is healthy',
        'The primary serves users normally; only the DR site or the path to it fails. There is nothing to fail over from. DR readiness is reduced.',
        [serving, item('signal:dr_site', f.drSite.status, -3, 'the failing part is on the DR side')],
      );
    }
    return result(
      'unknown',
      input.score.level === 'none' ? 'none' : 'self_heal',
      'medium',
      'a partial internal failure; the public endpoint is healthy',
      'The public endpoint answers everywhere and the error rate is normal; some internal checks fail. Self-healing (restarting the failing workloads) is enough.',
      [serving],
    );
  }

  const aws = awsInfrastructure(f);
  const others = otherExplanations(f, aws).sort((a, b) => b.strength - a.strength);
  const best = others[0];
  const awsWins = aws.structural && aws.strength >= 4 && (!best || aws.strength > best.strength);

  if (!awsWins) {
    if (best && best.strength >= 2) {
      const rivals = aws.strength;
      const confidence = confidenceFor(best.strength + 3, best.strength - rivals);
      const action: RecommendedAction =
        best.category === 'cloudflare_infrastructure'
          ? edgeAction(input)
          : input.score.level === 'none'
            ? 'none'
            : 'self_heal';
      const advice: Record<string, string> = {
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
          action === 'trigger_dr'
            ? 'The edge in front of the primary fails and the DR site is reached through another path.'
            : 'The edge provider fronts the DR site too; failing over would send users through the same broken edge. Wait for the provider.',
      };
      const dr =
        best.category === 'cloudflare_infrastructure' && action === 'trigger_dr'
          ? gateDr(f, input, { category: best.category, strength: best.strength + 3 }, best.evidence)
          : undefined;
      if (dr)
        return result(
          best.category,
          dr.action,
          dr.confidence,
          best.root_cause,
          `${dr.reasoning}`,
          [...best.evidence, ...dr.evidence],
          dr.readiness,
        );
      return result(
        best.category,
        action === 'trigger_dr' ? 'self_heal' : action,
        confidence,
        best.root_cause,
        `${capitalize(best.root_cause)}. ${advice[best.category] ?? ''}${rivals > 0 ? ` AWS-side evidence is weaker (${rivals} vs ${best.strength}).` : ' AWS infrastructure looks healthy.'}`,
        [...best.evidence, ...aws.evidence],
      );
    }
    if (aws.structural && aws.strength >= 2) {
      return result(
        'aws_infrastructure',
        input.score.level === 'none' ? 'none' : 'self_heal',
        'low',
        aws.root_cause,
        'Some AWS-side signals fail, but not enough to blame the provider yet; self-heal and keep watching.',
        aws.evidence,
      );
    }
    return result(
      'unknown',
      input.score.level === 'dr_failover' ? 'escalate' : input.score.level === 'none' ? 'none' : 'self_heal',
      'low',
      'no clear cause',
      'The evidence points at no single cause; nothing suggests the primary cloud is failing. A human should look.',
      [...aws.evidence, ...others.flatMap((o) => o.evidence)],
    );
  }

  if (aws.zonal) {
    return result(
      'aws_infrastructure',
      'self_heal',
      'medium',
      aws.root_cause,
      'The failure is confined to one Availability Zone; the multi-AZ design absorbs it. Cordon the zone and keep capacity in the others; a failover is unnecessary.',
      aws.evidence,
    );
  }
  const dr = gateDr(f, input, aws, aws.evidence, best);
  return result(
    'aws_infrastructure',
    dr.action,
    dr.confidence,
    aws.root_cause,
    dr.reasoning,
    [...aws.evidence, ...dr.evidence, ...(best?.evidence ?? [])],
    dr.readiness,
  );
}

function edgeAction(input: AnalysisInput): RecommendedAction {
  const fronts = input.topology.edge?.fronts ?? ['primary', 'dr'];
  return fronts.includes('dr') ? 'none' : 'trigger_dr';
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Time and readiness: a confirmed, sustained failure with a ready DR (or secondary) site. */
function gateDr(
  f: Features,
  input: AnalysisInput,
  cause: { strength: number; category: RootCauseCategory },
  evidence: EvidenceItem[],
  rival?: Explanation,
): {
  action: RecommendedAction;
  confidence: Confidence;
  reasoning: string;
  evidence: EvidenceItem[];
  readiness: { ready: boolean; reasons: string[] };
} {
  const margin = cause.strength - (rival?.strength ?? 0);
  const confidence = confidenceFor(cause.strength, margin);
  const extra: EvidenceItem[] = [];
  // Flapping, or a change of ours just before the onset that has not been rolled back, needs a longer look.
  const flapping = f.recoveries >= 2;
  const unresolvedChange = f.changes.beforeOnset.length > 0 && !f.changes.rollbackFailed;
  const window = input.decision.confirm_window_s * (flapping || unresolvedChange ? 2 : 1);
  // Live cycles drift by their jitter: a window of exactly N intervals must not need N + 1 cycles.
  const elapsed = f.onset !== undefined ? f.now - f.onset : 0;
  const sustained = f.onset !== undefined ? elapsed + 0.1 * input.interval_s : 0;
  const readiness = drReadiness(f, input, cause.category === 'aws_infrastructure');
  extra.push(...readiness.evidence);
  const secondaryReady =
    Boolean(input.topology.secondary) &&
    f.secondary.present &&
    f.secondary.status === 'ok' &&
    f.health.secondaryIssues.length === 0 &&
    // A global AWS event (IAM, STS global endpoint) reaches the secondary region too.
    !f.health.regionalIssues.some((e) => e.region.toLowerCase() === 'global') &&
    cause.category === 'aws_infrastructure';
  const target = secondaryReady ? 'region failover' : 'DR failover';
  const action: RecommendedAction = secondaryReady ? 'region_failover' : 'trigger_dr';
  // Hysteresis: the DR level itself must hold for a while (half the confirmation window, at least two cycles),
  // so a long mild degradation that turns severe is not failed over the moment it crosses the threshold.
  let drLevelSince = input.now;
  for (let i = input.history.length - 1; i >= 0 && input.history[i].level === 'dr_failover'; i--) {
    drLevelSince = input.history[i].at;
  }
  const drLevelFor = input.now - drLevelSince + 0.1 * input.interval_s;
  const drLevelNeeded = Math.max(input.interval_s, input.decision.confirm_window_s / 2);
  if (input.score.level === 'dr_failover' && drLevelFor < drLevelNeeded && sustained >= window) {
    return {
      action: 'self_heal',
      confidence,
      reasoning: `The failure has lasted ${formatDuration(elapsed)} but has been at the DR level for only ${formatDuration(input.now - drLevelSince)}; holding until it stays there ${formatDuration(drLevelNeeded)}, so a score flapping around the threshold does not trigger a failover.`,
      evidence: extra,
      readiness,
    };
  }
  if (sustained < window) {
    return {
      action: 'self_heal',
      confidence,
      reasoning: `${cause.category === 'aws_infrastructure' ? 'An AWS infrastructure failure' : 'An edge failure'} is likely (evidence ${cause.strength}); confirming: it has lasted ${formatDuration(elapsed)} of the ${formatDuration(window)} confirmation window${flapping ? ' (lengthened: the signals flapped)' : unresolvedChange ? ' (lengthened: a change of ours came just before it)' : ''} before a ${target}.`,
      evidence: extra,
      readiness,
    };
  }
  if (secondaryReady) {
    extra.push(
      item(
        'signal:secondary_region',
        'ok',
        2,
        'the warm secondary region is healthy and the failure is confined to the primary region',
      ),
    );
  }
  const why = evidence
    // For the AWS cause the supporting items weigh positive; for an edge cause they point away from AWS.
    .filter((e) => (cause.category === 'aws_infrastructure' ? e.weight > 0 : e.weight !== 0))
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
    .slice(0, 4)
    .map((e) => e.says)
    .join('; ');
  const readyText = secondaryReady
    ? 'The secondary region is healthy, so a region failover restores service with less risk than DR.'
    : readiness.ready
      ? 'The DR site is healthy and within the RPO budget.'
      : `But the DR site is not ready: ${readiness.reasons.join('; ')}; failing over would move users into another outage.`;
  return {
    action,
    confidence,
    reasoning: `Sustained for ${formatDuration(elapsed)}: ${why}. ${readyText}`,
    evidence: extra,
    readiness,
  };
}
