import type {
  AwsHealthEvent,
  ChangeRecord,
  IncidentContext,
  SignalSnapshot,
  Site,
  StatusIncident,
  Topology,
  VantageResult,
} from '../../core/index.js';
import type { AnalysisInput } from '../analyzer.js';
import type { Features, SiteIncident } from './features.js';
import type { SiteView } from './sites.js';
import { isImpaired } from './impact.js';
import { classifyText, domainsIn, squash, tallyText } from './text.js';

/** What the context gatherers returned (AWS Health, status pages, metrics, changes, logs), read for the explanations. */

function normalizeService(service: string): string {
  return service.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

function inRegion(event: AwsHealthEvent, region: string | undefined): boolean {
  return Boolean(region) && squash(event.region) === squash(region!);
}

function usesService(site: Site, service: string): boolean {
  const used = site.services;
  const s = normalizeService(service);
  if (s === 'MULTIPLESERVICES' || !used || used.length === 0) return true;
  return used.some((u) => normalizeService(u) === s);
}

function isOpenIssue(event: AwsHealthEvent): boolean {
  return (
    (event.eventTypeCategory === 'issue' || event.eventTypeCategory === 'investigation') &&
    event.statusCode === 'open'
  );
}

/** The edge is an AWS service (Route 53, CloudFront): AWS Health names it by its service code. */
function isEdgeService(topology: Topology, service: string): boolean {
  const provider = topology.edge?.provider;
  if (!provider) return false;
  const bare = (name: string): string => normalizeService(name).replace(/^(?:AMAZON|AWS)/, '');
  return bare(provider) === bare(service);
}

const onAws = (site: Site | undefined): boolean => site?.cloud.toLowerCase() === 'aws';

/**
 * AWS Health events sorted into: open issues where the serving site runs (none while a site on another cloud
 * serves), in the secondary region (a region failover's target while the primary or DR serves), where the standby
 * runs when it is on AWS (the old primary while DR serves), and planned work. An issue of the AWS service that is
 * our edge (the DNS or CDN in front of both sites) is the edge's, not the region's.
 */
export function healthView(ctx: IncidentContext, topology: Topology, sites: SiteView): Features['health'] {
  const health: Features['health'] = {
    regionalIssues: [],
    secondaryIssues: [],
    standbyIssues: [],
    maintenance: [],
    edgeIssues: [],
  };
  const { servingSite, standbySite } = sites;
  for (const event of ctx.aws_health?.events ?? []) {
    if (isEdgeService(topology, event.service)) {
      if (isOpenIssue(event)) health.edgeIssues.push(event);
      continue;
    }
    const ours =
      onAws(servingSite) &&
      (inRegion(event, servingSite.region) || squash(event.region) === 'global') &&
      usesService(servingSite, event.service);
    if (ours && isOpenIssue(event)) health.regionalIssues.push(event);
    else if (
      sites.serving !== 'secondary' &&
      inRegion(event, topology.secondary?.region) &&
      isOpenIssue(event)
    )
      health.secondaryIssues.push(event);
    else if (ours && event.eventTypeCategory === 'scheduledChange' && event.statusCode !== 'closed')
      health.maintenance.push(event);
    else if (onAws(standbySite) && inRegion(event, standbySite.region) && isOpenIssue(event))
      health.standbyIssues.push(event);
  }
  return health;
}

/** An incident still affecting its components (not resolved, some impact), of major or critical impact. */
function majorActive(incident: StatusIncident): boolean {
  return incident.status !== 'resolved' && (incident.impact === 'major' || incident.impact === 'critical');
}

export function edgeView(
  ctx: IncidentContext,
  topology: Topology,
): Pick<Features, 'edgeProvider' | 'edgeDeclared' | 'edgeIncidents' | 'edgeFeedDown'> {
  const edgeProvider = (topology.edge?.provider ?? 'cloudflare').toLowerCase();
  const feed = edgeProvider === 'cloudflare' ? ctx.cloudflare : ctx.status_pages?.[edgeProvider];
  return {
    edgeProvider,
    edgeDeclared: Boolean(topology.edge),
    edgeIncidents: (feed?.incidents ?? []).filter(majorActive),
    edgeFeedDown: feed?.available === false,
  };
}

/** Whether a status-page incident names something the site stands on. */
function touchesSite(incident: StatusIncident, site: Site): boolean {
  const text = squash(`${incident.name} ${incident.body ?? ''} ${(incident.components ?? []).join(' ')}`);
  if (site.region && text.includes(squash(site.region))) return true;
  // A global incident (no region named) touches the site when it names a component the site declares.
  // The cloud and region names are not components: "azure" would match every Azure incident.
  const facts = Object.entries(site)
    .filter(([key, v]) => key !== 'cloud' && key !== 'region' && typeof v === 'string')
    .map(([, v]) => squash(v as string))
    .filter((v) => v.length > 3);
  const components = (incident.components ?? []).map(squash);
  return components.some((c) => facts.some((f) => c.includes(f) || f.includes(c)));
}

/**
 * The major incidents a site's cloud reports on its status page that touch the site, with the context source
 * they came from: Azure's status feed for a site on Azure, a configured status page named after the cloud for
 * any other; none for AWS, whose own feed is AWS Health (healthView).
 */
export function siteIncidents(ctx: IncidentContext, site: Site): SiteIncident[] {
  const cloud = site.cloud.toLowerCase();
  const [source, feed] =
    cloud === 'azure'
      ? ['context:azure_status', ctx.azure_status]
      : [`context:status_pages:${cloud}`, cloud === 'aws' ? undefined : ctx.status_pages?.[cloud]];
  return (feed?.incidents ?? [])
    .filter((i) => majorActive(i) && touchesSite(i, site))
    .map((incident) => ({ source, incident }));
}

export function metricsView(input: AnalysisInput): Features['metrics'] {
  const { history } = input;
  // Baselines: the last healthy cycle, else the first cycle in the window that was not impaired, else the first.
  const baseline = input.baseline?.metrics
    ? input.baseline
    : (history.find((h) => !isImpaired(h) && h.metrics) ?? history.find((h) => h.metrics));
  const metrics = input.context?.metrics ?? {};
  const base = baseline?.metrics ?? {};
  const ratio = (a?: number, b?: number): number | undefined => (a !== undefined && b ? a / b : undefined);
  const writeKey = Object.keys(metrics).find((k) => /wal|write/i.test(k));
  return {
    errorRate: metrics.error_rate,
    requestRate: metrics.request_rate,
    baseErrorRate: base.error_rate,
    trafficRatio: ratio(metrics.request_rate, base.request_rate),
    writeRatio: writeKey ? ratio(metrics[writeKey], base[writeKey]) : undefined,
  };
}

const ROLLBACK_GRACE_S = 120;
const SUSPECT_WINDOW_S = 15 * 60;
/** Rollback wording, the second source after the change records' own structure. */
const ROLLBACK_WORDS =
  /\b(?:roll(?:ed|ing)?[- ]?back|revert(?:ed|ing|s)?|downgrad(?:e|ed|ing) to|restor(?:e|ed|ing) (?:the )?previous)\b/i;

/**
 * Our changes before the failure began, and the rollbacks after it. A rollback is read from the records first:
 * a change after the onset to the same service, of the same kind, as a change shortly before it is that
 * change being undone or fixed. The description's wording is the fallback.
 */
export function changesView(
  ctx: IncidentContext,
  onset: number | undefined,
  now: number,
): Features['changes'] {
  const changes = ctx.changes ?? [];
  const reference = onset ?? now;
  const suspects = changes.filter(
    (c) => c.at <= reference && c.at >= reference - SUSPECT_WINDOW_S && !ROLLBACK_WORDS.test(c.description),
  );
  // Scaling follows load; scaling again is not undoing anything.
  const undoes = (c: ChangeRecord): boolean =>
    c.kind !== 'scaling' &&
    suspects.some((s) => s.kind === c.kind && s.service !== undefined && s.service === c.service);
  const rollbacks = changes.filter(
    (c) =>
      onset !== undefined && c.at > onset && c.at < now && (undoes(c) || ROLLBACK_WORDS.test(c.description)),
  );
  // A rollout takes a while to take effect: only a failure that outlasts this grace period proves the rollback did not help.
  const rollbackFailed = rollbacks.some((r) => now - r.at >= ROLLBACK_GRACE_S);
  return { beforeOnset: suspects, rollbacks, rollbackFailed };
}

/** The probes of our public endpoints (outside vantages, the DR site, the cross-cloud path) name our domains. */
const PUBLIC_ENDPOINT_PROBES = ['external_uptime', 'dr_site', 'cross_cloud'];

function ownDomains(signals: SignalSnapshot): Set<string> {
  const own = new Set<string>();
  for (const name of PUBLIC_ENDPOINT_PROBES) {
    const s = signals[name];
    const texts = [
      s?.detail ?? '',
      ...(Array.isArray(s?.vantages) ? (s.vantages as VantageResult[]).map((v) => v.detail ?? '') : []),
    ];
    for (const text of texts) for (const d of domainsIn(text)) own.add(d);
  }
  return own;
}

/**
 * The text the explanations read. Log lines and status-page bodies are untrusted: an instruction-like line is
 * reported as a red flag and then dropped, so it counts in no family anywhere. Probe details are our own.
 */
export function textView(
  ctx: IncidentContext,
  signals: SignalSnapshot,
): Pick<Features, 'logs' | 'details' | 'injections'> {
  const all = (ctx.logs ?? []).map((l) => l.line ?? '').filter((l) => typeof l === 'string');
  const statusBodies = [
    ...(ctx.cloudflare?.incidents ?? []),
    ...(ctx.azure_status?.incidents ?? []),
    ...Object.values(ctx.status_pages ?? {}).flatMap((f) => f.incidents ?? []),
  ].map((i) => `${i.name} ${i.body ?? ''}`);
  const flagged = (l: string): boolean => classifyText(l).has('injection');
  const lines = all.filter((l) => !flagged(l));
  const own = ownDomains(signals);
  // Our probes' own words, each vantage point's included (structured facts carry their own detail).
  const details = Object.values(signals).flatMap((s) => [
    s?.detail ?? '',
    ...(Array.isArray(s?.vantages) ? (s.vantages as VantageResult[]).map((v) => v.detail ?? '') : []),
  ]);
  return {
    logs: { lines, tally: tallyText(lines, own) },
    details: { text: details.join(' | '), tally: tallyText(details) },
    injections: [...all, ...statusBodies].filter(flagged),
  };
}
