/*
 * Stand-in for the Cloudflare v4 DNS records API (JSON envelopes), for the dns step's tests only.
 * Refuses, as Cloudflare does (source: the comments below; providers.test.ts 'TTLs Cloudflare refuses fail
 * validation'):
 * - a wrong bearer token (403, code 10000 Authentication error);
 * - another zone or an unknown path (404, code 7003), an unknown record (404, code 81044);
 * - a name outside the zone (400, code 9005), a TTL that is neither 1 (automatic) nor 60-86400 (400, code 9021);
 * - a verb not served (405, code 10405).
 * Does not model: record-type validation (content of A/AAAA/CNAME), proxied-record rules, CNAME conflicts, rate
 * limits (429), pagination of the list, latency (but `answerDelayMs`, default 0, answers a create, update or
 * delete that long after applying it: shared/answer-delay.ts, for the kill-anywhere benchmark).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerAfter } from '../shared/answer-delay.js';

/**
 * A local server in the wire shape of the Cloudflare v4 DNS API (JSON envelopes), for the dns step's
 * tests: the service cannot run on this machine. It keeps the records it was sent, so a test checks
 * the result. (Route 53's stand-in is ../aws/route53.ts.)
 */

abstract class LoopbackServer {
  private server?: Server;
  readonly requests: Array<{
    method: string;
    path: string;
    body: string;
    headers: IncomingMessage['headers'];
  }> = [];

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        this.requests.push({
          method: req.method ?? 'GET',
          path: url.pathname + url.search,
          body,
          headers: req.headers,
        });
        this.handle(req.method ?? 'GET', url, body, req, res);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  protected abstract handle(
    method: string,
    url: URL,
    body: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): void;
}

export interface CloudflareRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  ttl: number;
  proxied: boolean;
}

export class FakeCloudflare extends LoopbackServer {
  readonly records: CloudflareRecord[] = [];
  /** How long a create, update or delete's answer follows its effect (0: at once). */
  answerDelayMs = 0;
  private counter = 0;

  constructor(
    readonly zoneId: string,
    readonly zoneName: string,
    readonly token: string,
  ) {
    super();
  }

  /** The step params that reach this server: provider, zone, token and API base. */
  access(): { provider: 'cloudflare'; zone_id: string; api_token: string; api_base: string } {
    return {
      provider: 'cloudflare',
      zone_id: this.zoneId,
      api_token: this.token,
      api_base: `${this.url}/client/v4`,
    };
  }

  /** Seeds a record as if it were already in the zone. */
  seed(id: string, name: string, content: string): void {
    this.records.push({ id, type: 'A', name, content, ttl: 300, proxied: false });
  }

  private send(
    res: ServerResponse,
    status: number,
    result: unknown,
    errors: Array<{ code: number; message: string }> = [],
  ): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: errors.length === 0, errors, messages: [], result }));
  }

  protected handle(method: string, url: URL, body: string, req: IncomingMessage, res: ServerResponse): void {
    if (method !== 'GET') answerAfter(res, this.answerDelayMs);
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return this.send(res, 403, null, [{ code: 10000, message: 'Authentication error' }]);
    }
    const m = /^\/client\/v4\/zones\/([^/]+)(\/dns_records(?:\/([^/]+))?)?$/.exec(url.pathname);
    if (!m || m[1] !== this.zoneId)
      return this.send(res, 404, null, [
        { code: 7003, message: 'Could not route to /zones, perhaps your object identifier is invalid?' },
      ]);
    if (!m[2] && method === 'GET')
      return this.send(res, 200, { id: this.zoneId, name: this.zoneName, status: 'active' });
    if (m[2] && !m[3] && method === 'GET') {
      const type = url.searchParams.get('type');
      const name = url.searchParams.get('name');
      const found = this.records.filter((r) => (!type || r.type === type) && (!name || r.name === name));
      return this.send(res, 200, found);
    }
    const input = body ? (JSON.parse(body) as Omit<CloudflareRecord, 'id'>) : undefined;
    if (input && !input.name.endsWith(this.zoneName)) {
      return this.send(res, 400, null, [
        { code: 9005, message: 'Content for A record is invalid. Name is outside the zone.' },
      ]);
    }
    if (input && input.ttl !== 1 && (input.ttl < 60 || input.ttl > 86400))
      return this.send(res, 400, null, [
        { code: 9021, message: 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.' },
      ]);
    if (m[3] && method === 'DELETE') {
      const at = this.records.findIndex((r) => r.id === m[3]);
      if (at < 0) return this.send(res, 404, null, [{ code: 81044, message: 'Record does not exist.' }]);
      this.records.splice(at, 1);
      return this.send(res, 200, { id: m[3] });
    }
    if (m[2] && !m[3] && method === 'POST' && input) {
      const record = { id: `rec${++this.counter}`, ...input, proxied: Boolean(input.proxied) };
      this.records.push(record);
      return this.send(res, 200, record);
    }
    if (m[3] && method === 'PUT' && input) {
      const record = this.records.find((r) => r.id === m[3]);
      if (!record) return this.send(res, 404, null, [{ code: 81044, message: 'Record does not exist.' }]);
      Object.assign(record, input, { proxied: Boolean(input.proxied) });
      return this.send(res, 200, record);
    }
    return this.send(res, 405, null, [{ code: 10405, message: `Method ${method} not allowed` }]);
  }
}
