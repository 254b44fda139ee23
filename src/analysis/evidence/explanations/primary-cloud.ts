import type { EvidenceItem } from '../../../core/index.js';
import { formatDuration } from '../../../core/index.js';
import { count, example, item, type CloudFinding } from '../explanation.js';
import type { Features } from '../features.js';
import { isBad } from '../signal-views.js';
import { servingName } from '../sites.js';

/**
 * The serving site's cloud failing (AWS while the primary serves; the DR site's cloud while DR serves): cross-region API checks, node loss, AWS Health, a frozen replica, AWS
 * endpoints failing in the logs, and the absence of any change of ours. It also says whether the failure is
 * structural (the cloud's own machinery) and whether it is confined to one Availability Zone.
 */

interface Tally {
  strength: number;
  evidence: EvidenceItem[];
}

function add(t: Tally, weight: number, source: string, what: string, says: string): void {
  t.strength += weight;
  t.evidence.push(item(source, what, weight, says));
}

/** An AWS issue open this long before our failure began, with users served meanwhile, did not start it. */
const PREDATES_ONSET_S = 10 * 60;

/** Every open AWS issue began well before the failure, and users were still served after it began. */
function issuesPredateOnset(f: Features): boolean {
  const { onset, lastServedAt } = f;
  if (onset === undefined || lastServedAt === undefined || f.health.regionalIssues.length === 0) return false;
  return f.health.regionalIssues.every(
    (e) =>
      e.startTime !== undefined && e.startTime <= onset - PREDATES_ONSET_S && lastServedAt >= e.startTime,
  );
}

function nodeLossOf(f: Features): boolean {
  return !f.nodes.explained && !f.nodes.podsOnly && f.nodes.notReadyShare > 0;
}

/** The cloud's machinery: APIs from another region, nodes, AWS's own feed. */
function weighStructure(f: Features, t: Tally): void {
  const cross = f.crossRegion.status;
  const apis = `${servingName(f.sites)}’s ${f.sites.cloud} APIs`;
  if (cross === 'error')
    add(t, 4, 'signal:aws_cross_region', 'error', `${apis} fail when called from another region`);
  else if (cross === 'degraded')
    add(t, 2, 'signal:aws_cross_region', 'degraded', `${apis} partly fail from another region`);
  const share = `${Math.round(f.nodes.notReadyShare * 100)}% NotReady`;
  if (nodeLossOf(f) && f.nodes.notReadyShare >= 0.3) {
    const multi = f.nodes.zones === 'multi';
    const says = f.nodes.empty
      ? 'the cluster lists no nodes at all'
      : `nodes are NotReady${multi ? ' in several Availability Zones' : ''}`;
    add(t, multi ? 4 : 3, 'signal:eks_nodes', f.nodes.empty ? '0 of 0 nodes' : share, says);
  } else if (nodeLossOf(f)) add(t, 1, 'signal:eks_nodes', share, 'a few nodes are NotReady');
  else if (f.nodes.unreadable)
    add(t, 1, 'signal:eks_nodes', f.nodes.status, 'the Kubernetes API cannot be read');
  const event = f.health.regionalIssues[0];
  if (event && issuesPredateOnset(f))
    add(
      t,
      2,
      'context:aws_health',
      event.eventTypeCode,
      `AWS Health's open ${event.service} issue began ${formatDuration((f.onset ?? f.now) - (event.startTime ?? 0))} before our failure, while users were served: it does not explain the onset`,
    );
  else if (event)
    add(
      t,
      5,
      'context:aws_health',
      event.eventTypeCode,
      `AWS Health reports an open ${event.service} issue in ${event.region}`,
    );
  // The serving site's cloud reports it on its status page (a site outside AWS: Azure's status feed).
  const incident = f.servingIncidents[0];
  if (incident)
    add(
      t,
      5,
      incident.source,
      incident.incident.name,
      `${f.sites.cloud} reports a ${incident.incident.impact} incident touching ${servingName(f.sites)}`,
    );
  weighReplica(f, t);
  const { inside, regionFailing } = f.blind;
  if (inside.length > 0 && regionFailing)
    add(
      t,
      1,
      `signal:${inside[0]}`,
      `unknown: ${inside.join(', ')}`,
      `the probes inside ${servingName(f.sites)} cannot run while it fails from outside: the ${f.sites.serving === 'primary' ? 'region' : 'site'}, not the prober`,
    );
}

/** Seconds of lag under which a replica counts as current: it held nearly everything when its primary went. */
const CURRENT_REPLICA_S = 10;

/**
 * A replica that was current and stops hearing from its primary: the primary is unreachable or frozen.
 * A streaming standby shows it as growing lag with almost nothing behind; a logical subscriber (whose
 * apply worker dies with the connection) as the probe's `primary_answers: false` fact.
 */
function weighReplica(f: Features, t: Tally): void {
  const { seconds, dataBehind, preOnsetLag, primaryAnswers } = f.db;
  if (!isBad(f.db.status)) return;
  if (seconds !== undefined && dataBehind !== undefined && seconds > 10 * Math.max(dataBehind, 1))
    add(
      t,
      1,
      'signal:db_replication_lag',
      `${seconds}s lag, ${dataBehind}s behind`,
      'the replica receives no WAL although it holds nearly everything: the primary is unreachable or frozen',
    );
  else if (primaryAnswers === false && preOnsetLag !== undefined && preOnsetLag < CURRENT_REPLICA_S)
    add(
      t,
      1,
      'signal:db_replication_lag',
      `primary does not answer; ${preOnsetLag}s lag before the onset`,
      'the replica lost its primary although it was current: the primary is unreachable or frozen',
    );
}

/** What the logs and the rest of the system say about the cloud. */
function weighSymptoms(f: Features, t: Tally): void {
  const cross = f.crossRegion.status;
  // AWS endpoints failing speak for the serving cloud only when it is AWS: a site on another cloud that calls
  // AWS depends on it as on any outside service.
  const awsLines =
    f.sites.servingSite.cloud.toLowerCase() === 'aws' ? count(f, 'aws_endpoint') + count(f, 'dns_aws') : 0;
  if (awsLines > 0) {
    const family = awsLines === count(f, 'dns_aws') ? 'dns_aws' : 'aws_endpoint';
    add(
      t,
      awsLines >= 3 ? 2 : 1,
      'context:logs',
      example(f, family),
      `${awsLines} lines show AWS endpoints failing or not resolving`,
    );
  }
  if (count(f, 'node_loss') > 0 && nodeLossOf(f)) t.strength += 0.5;
  if (count(f, 'network_timeout') >= 2 && (cross !== 'ok' || nodeLossOf(f)))
    add(
      t,
      0.5,
      'context:logs',
      example(f, 'network_timeout'),
      'failures are network timeouts, not application errors',
    );
  if ((f.internal.failingShare ?? 0) >= 0.5 && f.external.allDown && (cross !== 'ok' || nodeLossOf(f)))
    add(
      t,
      1,
      'signal:internal_services',
      f.internal.status,
      'most services fail together and the public endpoint is down everywhere',
    );
  if (f.changes.beforeOnset.length === 0 && f.impaired)
    add(t, 1, 'context:changes', 'none', 'nothing changed on our side before the failure began');
  if (f.changes.rollbackFailed)
    add(
      t,
      2,
      'context:changes',
      f.changes.rollbacks[0].description,
      'our change was rolled back and the failure did not stop',
    );
}

/** Doubts that cap or halve the cloud's strength, and the bonus for a failure that lasts. */
function weighDoubts(f: Features, t: Tally, structural: boolean): void {
  const cross = f.crossRegion.status;
  const noIssue = f.health.regionalIssues.length === 0 && f.servingIncidents.length === 0;
  const infraHealthy = (!f.crossRegion.present || cross === 'ok') && !nodeLossOf(f) && noIssue;
  const cloud = f.sites.cloud;
  if (infraHealthy) {
    t.evidence.push(
      item(
        'signal:aws_cross_region',
        cross,
        -2,
        `${cloud} APIs answer from another region and every node is Ready`,
      ),
    );
    t.strength = Math.min(t.strength, 1);
    return;
  }
  // Nodes failing while the AWS APIs answer normally from another region, right after a change of ours,
  // point at the change (a node image, CNI or DaemonSet) at least as much as at AWS.
  const ownChangePending =
    f.changes.beforeOnset.length > 0 && !f.changes.rollbackFailed && (noIssue || issuesPredateOnset(f));
  if (f.crossRegion.present && cross === 'ok' && ownChangePending) {
    t.strength /= 2;
    t.evidence.push(
      item(
        'signal:aws_cross_region',
        'ok',
        -2,
        `the ${cloud} APIs answer from another region while our change is fresh`,
      ),
    );
  }
  // A structural failure that lasts is more telling than one that has just begun.
  if (structural && f.onset !== undefined) {
    const lasted = f.now - f.onset;
    const bonus = lasted >= 900 ? 2 : lasted >= 420 ? 1 : 0;
    if (bonus)
      add(
        t,
        bonus,
        'history:impairment',
        formatDuration(lasted),
        `the failure has lasted ${formatDuration(lasted)} without recovering`,
      );
  }
  // Nodes alone, while the AWS APIs answer from another region and AWS reports nothing, may be our
  // cluster rather than the cloud: never enough for a confident DR; a human decides (escalate).
  if (f.crossRegion.present && cross === 'ok' && noIssue && t.strength > 6) {
    t.strength = 6;
    t.evidence.push(
      item(
        'signal:aws_cross_region',
        'ok',
        0,
        `${cloud} APIs answer normally from another region and ${cloud} reports no issue: not confident it is the cloud`,
      ),
    );
  }
}

/** Whether the cause sits in one Availability Zone (its impact is the arbiter's business, not ours). */
function confinedToOneZone(f: Features): boolean {
  // AWS Health's own event descriptions for a one-zone event say "in a single Availability Zone (use1-az4)" and
  // "Other Availability Zones are not affected"; structured zone facts come first.
  const healthText = f.health.regionalIssues.map((e) => e.description ?? '').join(' ');
  return (
    (f.nodes.zones === 'single' ||
      f.crossRegion.zones === 'single' ||
      /\b(?:single|one) availability zone\b|other availability zones[^.]*not affected/i.test(healthText)) &&
    f.nodes.zones !== 'multi'
  );
}

export const primaryCloud = {
  name: 'primary cloud',
  weigh(f: Features): CloudFinding {
    const t: Tally = { strength: 0, evidence: [] };
    weighStructure(f, t);
    weighSymptoms(f, t);
    const structural =
      isBad(f.crossRegion.status) ||
      (nodeLossOf(f) && f.nodes.notReadyShare >= 0.3) ||
      f.health.regionalIssues.length > 0 ||
      f.servingIncidents.length > 0;
    weighDoubts(f, t, structural);
    const zonal = confinedToOneZone(f);
    const region = f.health.regionalIssues[0]?.region;
    const { cloud } = f.sites;
    const where = servingName(f.sites);
    return {
      category: f.sites.category,
      strength: t.strength,
      structural,
      zonal,
      root_cause: zonal
        ? `an ${cloud} failure confined to one Availability Zone of ${where}`
        : f.sites.serving === 'primary'
          ? `an ${cloud} infrastructure failure in the primary region${region ? ` (${region})` : ''}`
          : `an ${cloud} infrastructure failure at ${where}`,
      evidence: t.evidence,
    };
  },
};
