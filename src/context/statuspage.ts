import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import type { IncidentImpact, IncidentStatus, StatusFeed, StatusIncident } from '../core/index.js';
import { fetchJson, fetchText, isoToSeconds, joinUrl, oneLine, SourceError } from './http.js';

export interface StatusPageSettings {
  url: string;
  format: 'statuspage' | 'rss';
  components?: string[];
  headers?: Record<string, string>;
}

const IMPACTS: readonly IncidentImpact[] = ['none', 'minor', 'major', 'critical'];
const STATUSES: readonly IncidentStatus[] = ['investigating', 'identified', 'monitoring', 'resolved'];

const incidentSchema = z.looseObject({
  name: z.string(),
  status: z.string(),
  impact: z.string().optional(),
  created_at: z.string().nullish(),
  started_at: z.string().nullish(),
  components: z.array(z.looseObject({ name: z.string() })).nullish(),
  incident_updates: z.array(z.looseObject({ body: z.string().nullish() })).nullish(),
});
const unresolvedSchema = z.looseObject({ incidents: z.array(incidentSchema) });
const summarySchema = z.looseObject({
  status: z.looseObject({ indicator: z.string().optional() }).optional(),
  components: z.array(z.looseObject({ name: z.string(), status: z.string() })).optional(),
  incidents: z.array(incidentSchema).optional(),
});

function toIncident(raw: z.output<typeof incidentSchema>): StatusIncident {
  const impact = IMPACTS.includes(raw.impact as IncidentImpact) ? (raw.impact as IncidentImpact) : 'minor';
  const status = STATUSES.includes(raw.status as IncidentStatus)
    ? (raw.status as IncidentStatus)
    : 'investigating';
  const body = raw.incident_updates?.[0]?.body ?? undefined;
  return {
    name: raw.name,
    status,
    impact,
    components: raw.components?.map((c) => c.name),
    started: isoToSeconds(raw.started_at ?? raw.created_at),
    body: body ? oneLine(body, 2000) : undefined,
  };
}

const COMPONENT_IMPACT: Record<string, IncidentImpact> = {
  degraded_performance: 'minor',
  partial_outage: 'major',
  major_outage: 'critical',
};

function matchesComponents(incident: StatusIncident, wanted?: string[]): boolean {
  if (!wanted || wanted.length === 0) return true;
  const names = (incident.components ?? []).map((c) => c.toLowerCase());
  // An incident that names no component may be page-wide: keep it.
  if (names.length === 0) return true;
  return wanted.some((w) => names.some((n) => n.includes(w.toLowerCase())));
}

/**
 * Reads an Atlassian Statuspage v2 page: unresolved incidents, plus components
 * the summary shows as broken with no incident yet (pages often flip a
 * component before anyone writes the incident).
 */
export async function gatherStatusPage(
  settings: StatusPageSettings,
  signal: AbortSignal,
  source: string,
): Promise<StatusFeed> {
  if (settings.format === 'rss') return gatherRss(settings, signal, source);
  const options = { signal, headers: settings.headers, source };
  const [unresolved, summary] = await Promise.allSettled([
    fetchJson(joinUrl(settings.url, '/api/v2/incidents/unresolved.json'), options),
    fetchJson(joinUrl(settings.url, '/api/v2/summary.json'), options),
  ]);
  let incidents: StatusIncident[] | undefined;
  if (unresolved.status === 'fulfilled') {
    const parsed = unresolvedSchema.safeParse(unresolved.value);
    if (!parsed.success)
      throw new SourceError(`${source}: incidents/unresolved.json is not in the Statuspage v2 shape`);
    incidents = parsed.data.incidents.map(toIncident);
  }
  let brokenComponents: StatusIncident[] = [];
  if (summary.status === 'fulfilled') {
    const parsed = summarySchema.safeParse(summary.value);
    if (parsed.success) {
      if (!incidents && parsed.data.incidents) incidents = parsed.data.incidents.map(toIncident);
      brokenComponents = (parsed.data.components ?? [])
        .filter((c) => COMPONENT_IMPACT[c.status])
        .map((c) => ({
          name: `${c.name}: ${c.status.replace(/_/g, ' ')}`,
          status: 'investigating' as const,
          impact: COMPONENT_IMPACT[c.status],
          components: [c.name],
        }));
    }
  }
  if (!incidents) {
    const reason = unresolved.status === 'rejected' ? (unresolved.reason as Error).message : 'no incidents';
    throw new SourceError(reason);
  }
  const covered = new Set(incidents.flatMap((i) => i.components ?? []));
  const extra = brokenComponents.filter((c) => !covered.has(c.components![0]));
  const all = [...incidents, ...extra].filter(
    (i) => i.status !== 'resolved' && matchesComponents(i, settings.components),
  );
  return { available: true, incidents: all };
}

/**
 * RSS through a real XML parser: CDATA, character references (`&#8217;`, `&#x2019;`) and XML's entities decode
 * as a feed reader decodes them. Entity expansion is the parser's, with its limits on expansion.
 */
const rssParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  processEntities: true,
  // Also decodes character references (&#233;, &#x2019;), which the XML entity step leaves alone.
  htmlEntities: true,
  isArray: (name) => name === 'item',
});

/** An element's text: a plain string, or the text part of an element that also has attributes or children. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object' && '#text' in value)
    return textOf((value as { '#text': unknown })['#text']);
  return undefined;
}

interface RssItem {
  title?: unknown;
  description?: unknown;
  pubDate?: unknown;
}

function rssItems(text: string, source: string): RssItem[] {
  let document: { rss?: { channel?: { item?: RssItem[] } } };
  try {
    const valid = XMLValidator.validate(text);
    if (valid !== true) throw new Error(`${valid.err.msg} (line ${valid.err.line})`);
    document = rssParser.parse(text);
  } catch (error) {
    throw new SourceError(`${source}: the answer is not well-formed XML: ${(error as Error).message}`);
  }
  const channel = document.rss?.channel;
  if (!channel) throw new SourceError(`${source}: the answer is not an RSS feed (no <rss><channel>)`);
  return channel.item ?? [];
}

/** An RSS 2.0 status feed (Azure's status page publishes one): every item is an active incident. */
async function gatherRss(
  settings: StatusPageSettings,
  signal: AbortSignal,
  source: string,
): Promise<StatusFeed> {
  const text = await fetchText(settings.url, { signal, headers: settings.headers, source });
  const incidents: StatusIncident[] = rssItems(text, source).map((item) => {
    const pub = textOf(item.pubDate);
    const ms = pub ? Date.parse(pub) : NaN;
    const description = textOf(item.description);
    return {
      name: oneLine(textOf(item.title) ?? 'untitled', 300),
      status: 'investigating',
      impact: 'major',
      started: Number.isNaN(ms) ? undefined : ms / 1000,
      body: description ? oneLine(description, 2000) : undefined,
    };
  });
  return { available: true, incidents: incidents.filter((i) => matchesComponents(i, settings.components)) };
}
