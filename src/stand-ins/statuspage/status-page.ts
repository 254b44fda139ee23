/*
 * Stand-in for an Atlassian Statuspage v2 page (/api/v2/incidents/unresolved.json, /api/v2/summary.json) and
 * the same incidents as an RSS 2.0 feed (/feed.rss, the shape Azure's status page publishes); run by the lab's
 * feeds (one per provider) and by context tests.
 * Refuses: nothing but an unknown path (404); a public status page needs no credentials.
 * Faults on demand (`mode`): server_error (503), garbage (an HTML challenge page), slow.
 * Does not model: components' groups, scheduled maintenances, pagination, rate limits. Source: the comments
 * below and context.test.ts.
 */
import type { ServerResponse } from 'node:http';
import type { StatusIncident } from '../../core/index.js';
import { FakeServer, sendJson, sendText } from '../shared/server.js';

export const STATUSPAGE_FAKE_MODES = ['ok', 'server_error', 'garbage', 'slow'] as const;
export type StatuspageFakeMode = (typeof STATUSPAGE_FAKE_MODES)[number];

export interface StatuspageComponent {
  name: string;
  status: 'operational' | 'degraded_performance' | 'partial_outage' | 'major_outage' | 'under_maintenance';
}

export interface StatuspageFakeState {
  mode: StatuspageFakeMode;
  /** Times in Unix seconds. */
  incidents: StatusIncident[];
  components: StatuspageComponent[];
  delay_ms: number;
}

const iso = (s: number | undefined): string => new Date((s ?? Date.now() / 1000) * 1000).toISOString();

/**
 * An Atlassian Statuspage v2 page (`/api/v2/incidents/unresolved.json`,
 * `/api/v2/summary.json`) and the same incidents as an RSS 2.0 feed at
 * `/feed.rss` (the shape Azure's status page publishes). The lab uses one per
 * provider (Cloudflare, Azure) and sets incidents while a drill runs.
 */
export class FakeStatuspageServer extends FakeServer {
  state: StatuspageFakeState = { mode: 'ok', incidents: [], components: [], delay_ms: 60_000 };

  constructor(readonly pageName = 'Example') {
    super((req, _body, res, url) => this.route(url.pathname, res), {
      get: () => this.state,
      set: (s) => this.setState(s as Partial<StatuspageFakeState>),
    });
  }

  setState(update: Partial<StatuspageFakeState>): void {
    if (update.mode !== undefined && !STATUSPAGE_FAKE_MODES.includes(update.mode))
      throw new Error(`unknown mode ${String(update.mode)}; use one of ${STATUSPAGE_FAKE_MODES.join(', ')}`);
    this.state = { ...this.state, ...update };
  }

  setIncidents(incidents: StatusIncident[]): void {
    this.state = { ...this.state, incidents };
  }

  setComponents(components: StatuspageComponent[]): void {
    this.state = { ...this.state, components };
  }

  setMode(mode: StatuspageFakeMode): void {
    this.setState({ mode });
  }

  get rssUrl(): string {
    return `${this.url}/feed.rss`;
  }

  private incidentsV2(): unknown[] {
    return this.state.incidents
      .filter((i) => i.status !== 'resolved')
      .map((incident, n) => ({
        id: `inc${n}`,
        name: incident.name,
        status: incident.status,
        impact: incident.impact,
        created_at: iso(incident.started),
        started_at: iso(incident.started),
        updated_at: iso(incident.started),
        resolved_at: null,
        shortlink: `https://stspg.io/inc${n}`,
        page_id: 'page1',
        components: (incident.components ?? []).map((name) => ({ name, status: 'major_outage' })),
        incident_updates: incident.body
          ? [
              {
                id: `upd${n}`,
                status: incident.status,
                body: incident.body,
                created_at: iso(incident.started),
              },
            ]
          : [],
      }));
  }

  private async route(path: string, res: ServerResponse): Promise<void> {
    const { mode } = this.state;
    if (mode === 'slow' && !(await this.delay(this.state.delay_ms, res))) return;
    if (mode === 'server_error') return sendText(res, 503, 'Service Unavailable');
    if (mode === 'garbage')
      return sendText(res, 200, '<!doctype html><title>Just a moment...</title>', 'text/html');
    const page = { id: 'page1', name: this.pageName, url: this.url, updated_at: new Date().toISOString() };
    if (path === '/api/v2/incidents/unresolved.json')
      return sendJson(res, 200, { page, incidents: this.incidentsV2() });
    if (path === '/api/v2/summary.json') {
      const worst = this.state.incidents.some((i) => i.impact === 'critical')
        ? 'critical'
        : this.state.incidents.some((i) => i.impact === 'major')
          ? 'major'
          : this.state.incidents.length
            ? 'minor'
            : 'none';
      return sendJson(res, 200, {
        page,
        status: { indicator: worst, description: worst === 'none' ? 'All Systems Operational' : 'Incident' },
        components: this.state.components.map((c, n) => ({ id: `c${n}`, ...c })),
        incidents: this.incidentsV2(),
        scheduled_maintenances: [],
      });
    }
    if (path === '/feed.rss') {
      const escape = (t: string): string =>
        t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      const items = this.state.incidents
        .filter((i) => i.status !== 'resolved')
        .map(
          (i) =>
            `<item><title>${escape(i.name)}</title><description>${escape(i.body ?? '')}</description><pubDate>${new Date((i.started ?? 0) * 1000).toUTCString()}</pubDate></item>`,
        )
        .join('');
      return sendText(
        res,
        200,
        `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>${escape(this.pageName)} status</title>${items}</channel></rss>`,
        'application/rss+xml',
      );
    }
    return sendJson(res, 404, { error: 'not found' });
  }
}
