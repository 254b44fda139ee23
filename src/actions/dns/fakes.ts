import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Local servers in the wire shapes of Route 53 (REST/XML, API version 2013-04-01) and the
 * Cloudflare v4 DNS API (JSON envelopes), for the dns step's tests: neither service can
 * run on this machine. Each keeps the records it was sent, so a test checks the result.
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

const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

export interface Route53Record {
  name: string;
  type: string;
  ttl: number;
  values: string[];
  /** An alias record (to an ALB, say) has a target instead of values. */
  alias?: string;
}

export class FakeRoute53 extends LoopbackServer {
  readonly records = new Map<string, Route53Record>();
  private readonly changes = new Map<string, { polls: number }>();
  private counter = 0;

  /** `pendingPolls`: how many GetChange calls answer PENDING before INSYNC. */
  constructor(
    readonly zoneId: string,
    readonly zoneName: string,
    private readonly pendingPolls = 2,
  ) {
    super();
  }

  private xml(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': `req-${++this.counter}` });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    this.xml(
      res,
      status,
      `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-${this.counter}</RequestId></ErrorResponse>`,
    );
  }

  /** The step params that reach this server: provider, zone, endpoint and (test) keys. */
  access() {
    return {
      provider: 'route53' as const,
      hosted_zone_id: this.zoneId,
      endpoint: this.url,
      access_key_id: 'AKIAFAKE',
      secret_access_key: 'fake-secret',
    };
  }

  /** While true, every API call fails as in a us-east-1 control-plane outage (DNS answers keep working). */
  controlPlaneDown = false;

  /** What Route 53 refuses in a change: a CNAME at the apex, or beside other data of the same name. */
  private refusal(record: Route53Record): string | undefined {
    if (record.type === 'CNAME' && record.name === this.zoneName)
      return `[RRSet of type CNAME with DNS name ${record.name} is not permitted at apex in zone ${this.zoneName}]`;
    const clash = [...this.records.values()].find(
      (r) =>
        r.name === record.name && r.type !== record.type && (record.type === 'CNAME' || r.type === 'CNAME'),
    );
    if (clash)
      return `[RRSet of type ${record.type} with DNS name ${record.name} is not permitted because a conflicting RRSet of type ${clash.type} with the same DNS name already exists in zone ${this.zoneName}]`;
    return undefined;
  }

  private listRecords(url: URL, res: ServerResponse): void {
    const start = url.searchParams.get('name') ?? '';
    const sets = [...this.records.values()]
      .filter((r) => r.name >= start)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(
        (r) =>
          `<ResourceRecordSet><Name>${r.name}</Name><Type>${r.type}</Type>${
            r.alias
              ? `<AliasTarget><HostedZoneId>Z35SXDOTRQ7X7K</HostedZoneId><DNSName>${r.alias}</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget>`
              : `<TTL>${r.ttl}</TTL><ResourceRecords>${r.values.map((v) => `<ResourceRecord><Value>${v}</Value></ResourceRecord>`).join('')}</ResourceRecords>`
          }</ResourceRecordSet>`,
      )
      .join('');
    this.xml(
      res,
      200,
      `<ListResourceRecordSetsResponse xmlns="${XMLNS}"><ResourceRecordSets>${sets}</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListResourceRecordSetsResponse>`,
    );
  }

  private changeInfo(id: string, status: string): string {
    return `<ChangeInfo><Id>/change/${id}</Id><Status>${status}</Status><SubmittedAt>${new Date().toISOString()}</SubmittedAt></ChangeInfo>`;
  }

  protected handle(method: string, url: URL, body: string, req: IncomingMessage, res: ServerResponse): void {
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith('AWS4-HMAC-SHA256 ')) {
      return this.error(res, 403, 'MissingAuthenticationToken', 'Missing Authentication Token');
    }
    // Route 53's API is one global endpoint whose requests are signed for us-east-1 only.
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/route53\//.exec(auth)?.[1];
    if (scope !== 'us-east-1')
      return this.error(
        res,
        403,
        'SignatureDoesNotMatch',
        `Credential should be scoped to a valid region. Route 53's API is signed for us-east-1, not '${scope}'.`,
      );
    if (this.controlPlaneDown)
      return this.error(
        res,
        503,
        'ServiceUnavailable',
        'The service is unavailable. Please try again later.',
      );
    const zone = /^\/2013-04-01\/hostedzone\/([^/]+)(\/rrset\/?)?$/.exec(url.pathname);
    if (zone) {
      if (zone[1] !== this.zoneId)
        return this.error(res, 404, 'NoSuchHostedZone', `No hosted zone found with ID: ${zone[1]}`);
      if (method === 'GET' && !zone[2]) {
        return this.xml(
          res,
          200,
          `<GetHostedZoneResponse xmlns="${XMLNS}"><HostedZone><Id>/hostedzone/${this.zoneId}</Id><Name>${this.zoneName}</Name><CallerReference>fake</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>${this.records.size + 2}</ResourceRecordSetCount></HostedZone><DelegationSet><NameServers><NameServer>ns-1.awsdns-00.com</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>`,
        );
      }
      if (method === 'GET' && zone[2]) return this.listRecords(url, res);
      if (method === 'POST' && zone[2]) {
        for (const change of body.split('<Change>').slice(1)) {
          const action = tag(change, 'Action');
          const set = tag(change, 'ResourceRecordSet') ?? '';
          const record: Route53Record = {
            name: tag(set, 'Name') ?? '',
            type: tag(set, 'Type') ?? '',
            ttl: Number(tag(set, 'TTL') ?? 0),
            values: [...set.matchAll(/<Value>([\s\S]*?)<\/Value>/g)].map((m) => m[1]),
          };
          if (!record.name.endsWith(this.zoneName)) {
            return this.error(
              res,
              400,
              'InvalidChangeBatch',
              `RRSet with DNS name ${record.name} is not permitted in zone ${this.zoneName}`,
            );
          }
          if (action === 'DELETE') {
            // Route 53 deletes a record set only when the request names it exactly as it is.
            const current = this.records.get(`${record.name} ${record.type}`);
            const same =
              current && current.ttl === record.ttl && current.values.join('\n') === record.values.join('\n');
            if (!same)
              return this.error(
                res,
                400,
                'InvalidChangeBatch',
                `[Tried to delete resource record set [name='${record.name}', type='${record.type}'] but ${current ? 'the values provided do not match the current values' : 'it was not found'}]`,
              );
            this.records.delete(`${record.name} ${record.type}`);
            continue;
          }
          if (action !== 'UPSERT' && action !== 'CREATE')
            return this.error(res, 400, 'InvalidInput', `unsupported action ${action}`);
          const refusal = this.refusal(record);
          if (refusal) return this.error(res, 400, 'InvalidChangeBatch', refusal);
          this.records.set(`${record.name} ${record.type}`, record);
        }
        const id = `C${String(++this.counter).padStart(8, '0')}`;
        this.changes.set(id, { polls: 0 });
        return this.xml(
          res,
          200,
          `<ChangeResourceRecordSetsResponse xmlns="${XMLNS}">${this.changeInfo(id, 'PENDING')}</ChangeResourceRecordSetsResponse>`,
        );
      }
    }
    const change = /^\/2013-04-01\/change\/([^/]+)$/.exec(url.pathname);
    if (change && method === 'GET') {
      const state = this.changes.get(change[1]);
      if (!state)
        return this.error(res, 404, 'NoSuchChange', `A change with the specified change ID does not exist.`);
      state.polls += 1;
      const status = state.polls > this.pendingPolls ? 'INSYNC' : 'PENDING';
      return this.xml(
        res,
        200,
        `<GetChangeResponse xmlns="${XMLNS}">${this.changeInfo(change[1], status)}</GetChangeResponse>`,
      );
    }
    return this.error(res, 404, 'UnknownOperation', `no route for ${method} ${url.pathname}`);
  }
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
