/*
 * Stand-in for Grafana Loki's GET /loki/api/v1/query_range (streams of [nanosecond-string, line]), honouring
 * start, end, limit, direction and a |= "text" line filter; run by the lab's feeds and context tests.
 * Refuses, as Loki does (source: the comments below): a query without a stream selector (400, Loki's parse
 * error), an unknown path (404).
 * Faults on demand (`mode`): server_error (500 too many outstanding requests), garbage (truncated JSON), slow.
 * Does not model: LogQL beyond a selector and |= filters (no label matching, regex, parsers, metric queries),
 * multi-tenancy (X-Scope-OrgID), query limits (max entries, time range).
 */
import type { ServerResponse } from 'node:http';
import { FakeServer, sendJson, sendText } from '../shared/server.js';

export const LOKI_FAKE_MODES = ['ok', 'server_error', 'garbage', 'slow'] as const;
export type LokiFakeMode = (typeof LOKI_FAKE_MODES)[number];

/** A log line as the fake stores it; `at` in Unix seconds. */
export interface FakeLogLine {
  at: number;
  labels: Record<string, string>;
  line: string;
}

export interface LokiFakeState {
  mode: LokiFakeMode;
  lines: FakeLogLine[];
  delay_ms: number;
}

/**
 * Loki's `GET /loki/api/v1/query_range` in its real response shape (streams of
 * `[nanosecond-string, line]`), honouring start, end, limit and direction and
 * a `|= "text"` line filter; a malformed query gets Loki's 400 parse error.
 */
export class FakeLokiServer extends FakeServer {
  state: LokiFakeState = { mode: 'ok', lines: [], delay_ms: 60_000 };

  constructor() {
    super((req, _body, res, url) => this.route(url, res), {
      get: () => this.state,
      set: (s) => this.setState(s as Partial<LokiFakeState>),
    });
  }

  setState(update: Partial<LokiFakeState>): void {
    if (update.mode !== undefined && !LOKI_FAKE_MODES.includes(update.mode))
      throw new Error(`unknown mode ${String(update.mode)}; use one of ${LOKI_FAKE_MODES.join(', ')}`);
    this.state = { ...this.state, ...update };
  }

  setLines(lines: FakeLogLine[]): void {
    this.state = { ...this.state, lines };
  }

  setMode(mode: LokiFakeMode): void {
    this.setState({ mode });
  }

  private async route(url: URL, res: ServerResponse): Promise<void> {
    const { mode } = this.state;
    if (mode === 'slow' && !(await this.delay(this.state.delay_ms, res))) return;
    if (mode === 'server_error') return sendText(res, 500, 'too many outstanding requests');
    if (mode === 'garbage') return sendText(res, 200, '{"status":"success","data":', 'application/json');
    if (url.pathname !== '/loki/api/v1/query_range') return sendText(res, 404, '404 page not found');
    const query = url.searchParams.get('query') ?? '';
    const selector = /^\s*\{[^}]*\}/.exec(query);
    if (!selector)
      return sendText(res, 400, `parse error at line 1, col 1: syntax error: unexpected IDENTIFIER`);
    const filters = [...query.matchAll(/\|=\s*"([^"]*)"/g)].map((m) => m[1]);
    const start = BigInt(url.searchParams.get('start') ?? '0');
    const end = BigInt(url.searchParams.get('end') ?? String(BigInt(Date.now()) * 1_000_000n));
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const backward = (url.searchParams.get('direction') ?? 'backward') === 'backward';
    const ns = (at: number): bigint => BigInt(Math.round(at * 1000)) * 1_000_000n;
    const lines = this.state.lines
      .filter((l) => ns(l.at) >= start && ns(l.at) <= end && filters.every((f) => l.line.includes(f)))
      .sort((a, b) => (backward ? b.at - a.at : a.at - b.at))
      .slice(0, limit);
    const streams = new Map<string, { stream: Record<string, string>; values: Array<[string, string]> }>();
    for (const l of lines) {
      const key = JSON.stringify(l.labels);
      if (!streams.has(key)) streams.set(key, { stream: l.labels, values: [] });
      streams.get(key)!.values.push([String(ns(l.at)), l.line]);
    }
    return sendJson(res, 200, {
      status: 'success',
      data: { resultType: 'streams', result: [...streams.values()], stats: {} },
    });
  }
}
