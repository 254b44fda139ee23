import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerAfter } from '../shared/answer-delay.js';
import { FakeServer } from '../shared/server.js';

/**
 * Route 53's API in its wire shape: REST-XML, API version 2013-04-01, one global endpoint whose requests
 * are SigV4-signed for us-east-1 (the control plane lives there). It keeps the records it was sent, with their
 * routing policy (`SetIdentifier` with `Failover` or `Weight`, and `HealthCheckId`), and refuses what Route 53
 * refuses (InvalidChangeBatch, HTTP 400, unless said otherwise), each as the standard REST-XML
 * `<ErrorResponse><Error><Type>Sender</Type><Code>…` body. Route 53 used to send InvalidChangeBatch as
 * `<InvalidChangeBatch><Messages><Message>…` (the shape service-2.json still models, members messages/message);
 * since 2024 it sends the ErrorResponse form, the messages joined in one bracketed `<Message>[…, …]</Message>`
 * (wire bodies in aws/aws-sdk-kotlin#1433 and #1435, which removed the SDK's customization for the old form):
 * - a CNAME at the apex, or a CNAME beside other data of the same name, and the reverse (RFC 1034 §3.6.2;
 *   Route 53 developer guide, "CNAME record type"; message as Route 53 writes it, e.g. "[RRSet of type A with
 *   DNS name … is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists
 *   in zone …]", seen in hashicorp/terraform#9732);
 * - a record without `SetIdentifier` (simple routing) on a name and type served by records with one (failover,
 *   weighted, latency…), and the reverse: record sets of one name and type share one routing policy
 *   (botocore `route53/2013-04-01/service-2.json`, `ResourceRecordSet.SetIdentifier`: "Resource record sets
 *   that have a routing policy other than simple"; messages as Route 53 writes them: "[RRSet with DNS name …,
 *   type …, SetIdentifier … cannot be created because a non multivalue answer rrset exists with the same name
 *   and type.]", cert-manager#5388, and "[RRSet with DNS name …, type … cannot be created as other RRSets exist
 *   with the same name and type.]");
 * - a routed record whose policy (failover, weighted) differs from the other routed records of its name and
 *   type (Route 53 developer guide, "Choosing a routing policy": the record sets of one name and type share
 *   one routing policy; the message text is an assumption, modelled on the one above; reviewer's addition);
 * - a `SetIdentifier` without its routing policy element, or `Failover` other than PRIMARY/SECONDARY
 *   (service-2.json: `ResourceRecordSetFailover` enum; `InvalidInput`), a `Weight` outside 0-255
 *   (`ResourceRecordSetWeight`; bounds 0-255 from the Route 53 docs, not re-read in the model by the reviewer), or both `Failover` and `Weight` (assumption: InvalidInput);
 * - a DELETE that does not name the record set exactly as it is ("Tried to delete resource record set … but
 *   the values provided do not match the current values");
 * - a name outside the zone, a zone that is not this one (404 NoSuchHostedZone), an unsigned request (403
 *   MissingAuthenticationToken) or a signature for another region than us-east-1 (403 SignatureDoesNotMatch;
 *   Route 53's control plane is in us-east-1: service-2.json metadata, "globalEndpoint").
 * - an unknown change id (404 NoSuchChange); an action other than CREATE, UPSERT, DELETE (400 InvalidInput).
 * Used by the lab's control-plane-down drill and the dns step's tests.
 * Not modelled: CREATE of a record set that exists (Route 53 refuses it; here it overwrites), private zones,
 * pagination of ListResourceRecordSets, checking the SigV4 signature itself, latency (but see `answerDelayMs`), geolocation, multivalue and
 * IP-based policies' own fields (kept as opaque routed
 * records), alias targets' validity, health-check objects, the 1,000-changes limit of a batch, traffic policies.
 *
 * `mode` is how its control plane does, as Route 53 answers it (the error body is the ErrorResponse below):
 * - `unavailable`: us-east-1's control plane is impaired: every call answers HTTP 503 `ServiceUnavailable`,
 *   while DNS answers (the data plane: BIND in the lab) keep working;
 * - `throttled`: the account is over its rate (five requests a second, shared by every tool in the
 *   account): HTTP 400 `Throttling`, "Rate exceeded";
 * - `prior_request`: a change to the zone is still being processed: HTTP 400 `PriorRequestNotComplete`.
 * The SDK (`@aws-sdk/client-route-53`) parses each as an error of that name; it retries the 503 and the
 * throttling itself.
 *
 * `answerDelayMs` (default 0): a ChangeResourceRecordSets is applied at once and answered that much later
 * (shared/answer-delay.ts), for the kill-anywhere benchmark; `answered` records when it was applied.
 */

const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export const ROUTE53_FAKE_MODES = ['ok', 'unavailable', 'throttled', 'prior_request'] as const;
export type Route53FakeMode = (typeof ROUTE53_FAKE_MODES)[number];

const REFUSALS: Record<Exclude<Route53FakeMode, 'ok'>, { status: number; code: string; message: string }> = {
  unavailable: {
    status: 503,
    code: 'ServiceUnavailable',
    message: 'The request has failed due to a temporary failure of the server.',
  },
  throttled: { status: 400, code: 'Throttling', message: 'Rate exceeded' },
  prior_request: {
    status: 400,
    code: 'PriorRequestNotComplete',
    message: 'The request was rejected because Route 53 was still processing a prior request.',
  },
};

export interface Route53Record {
  name: string;
  type: string;
  ttl: number;
  values: string[];
  /** An alias record (to an ALB, say) has a target instead of values. */
  alias?: string;
  /** Routed records (failover, weighted…) carry an identifier and their policy; simple ones carry neither. */
  setIdentifier?: string;
  failover?: 'PRIMARY' | 'SECONDARY';
  weight?: number;
  healthCheckId?: string;
}

/** The key a record set is kept under: name and type, and the identifier of a routed one. */
export const route53Key = (r: Pick<Route53Record, 'name' | 'type' | 'setIdentifier'>) =>
  `${r.name} ${r.type}${r.setIdentifier !== undefined ? ` ${r.setIdentifier}` : ''}`;

/** One API call as the stand-in answered it: the operation, the HTTP status, the error code if refused. */
export interface Route53Answer {
  operation: string;
  status: number;
  code?: string;
  /** performance.now() when it was answered. */
  at: number;
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

/** The API operation a request calls, from its method and path. */
function operationOf(method: string, path: string): string {
  if (/^\/2013-04-01\/hostedzone\/[^/]+\/rrset\/?$/.test(path))
    return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
  if (/^\/2013-04-01\/hostedzone\/[^/]+$/.test(path)) return 'GetHostedZone';
  if (/^\/2013-04-01\/change\/[^/]+$/.test(path)) return 'GetChange';
  return `${method} ${path}`;
}

export class FakeRoute53 extends FakeServer {
  readonly records = new Map<string, Route53Record>();
  readonly answered: Route53Answer[] = [];
  mode: Route53FakeMode = 'ok';
  /** How long a ChangeResourceRecordSets' answer follows its effect (0: at once). */
  answerDelayMs = 0;
  private readonly changes = new Map<string, { polls: number }>();
  private counter = 0;

  /** `pendingPolls`: how many GetChange calls answer PENDING before INSYNC. */
  constructor(
    readonly zoneId: string,
    readonly zoneName: string,
    private readonly pendingPolls = 2,
  ) {
    super((req, body, res, url) => this.handle(req, body, res, url), {
      get: () => ({ mode: this.mode, records: [...this.records.values()] }),
      set: (state) => this.setMode((state as { mode?: Route53FakeMode }).mode ?? this.mode),
    });
  }

  setMode(mode: Route53FakeMode): void {
    if (!ROUTE53_FAKE_MODES.includes(mode))
      throw new Error(`unknown mode ${String(mode)}; use one of ${ROUTE53_FAKE_MODES.join(', ')}`);
    this.mode = mode;
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
  get controlPlaneDown(): boolean {
    return this.mode === 'unavailable';
  }

  set controlPlaneDown(down: boolean) {
    this.mode = down ? 'unavailable' : 'ok';
  }

  stop(): Promise<void> {
    return this.close();
  }

  /** The calls of `operation` answered since `since` (performance.now()). */
  callsOf(operation: string, since = 0): Route53Answer[] {
    return this.answered.filter((a) => a.operation === operation && a.at >= since);
  }

  /** Every answer goes out here, and is counted by operation. */
  private xml(res: ServerResponse, status: number, body: string): void {
    const path = new URL(res.req.url ?? '/', 'http://127.0.0.1').pathname;
    this.answered.push({
      operation: operationOf(res.req.method ?? 'GET', path),
      status,
      code: status >= 400 ? tag(body, 'Code') : undefined,
      at: performance.now(),
    });
    res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': `req-${++this.counter}` });
    res.end(`<?xml version="1.0"?>\n${body}`);
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    this.xml(
      res,
      status,
      `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-${this.counter}</RequestId></ErrorResponse>`,
    );
  }

  /** Refuses what the real endpoint would before the operation: no or wrong signature, an impaired control plane. */
  private gate(req: IncomingMessage): { status: number; code: string; message: string } | undefined {
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith('AWS4-HMAC-SHA256 '))
      return { status: 403, code: 'MissingAuthenticationToken', message: 'Missing Authentication Token' };
    // Route 53's API is one global endpoint whose requests are signed for us-east-1 only.
    const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/route53\//.exec(auth)?.[1];
    if (scope !== 'us-east-1')
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message: `Credential should be scoped to a valid region. Route 53's API is signed for us-east-1, not '${scope}'.`,
      };
    return this.mode === 'ok' ? undefined : REFUSALS[this.mode];
  }

  private handle(req: IncomingMessage, body: string, res: ServerResponse, url: URL): void {
    const method = req.method ?? 'GET';
    const operation = operationOf(method, url.pathname);
    if (operation === 'ChangeResourceRecordSets') answerAfter(res, this.answerDelayMs);
    const refused = this.gate(req);
    if (refused) return this.error(res, refused.status, refused.code, refused.message);
    const zone = /^\/2013-04-01\/hostedzone\/([^/]+)/.exec(url.pathname)?.[1];
    if (zone !== undefined && zone !== this.zoneId)
      return this.error(res, 404, 'NoSuchHostedZone', `No hosted zone found with ID: ${zone}`);
    switch (operation) {
      case 'GetHostedZone':
        return this.getHostedZone(res);
      case 'ListResourceRecordSets':
        return this.listRecords(url, res);
      case 'ChangeResourceRecordSets':
        return this.changeRecords(body, res);
      case 'GetChange':
        return this.getChange(url.pathname.split('/').pop() ?? '', res);
    }
    this.error(res, 404, 'UnknownOperation', `no route for ${method} ${url.pathname}`);
  }

  private getHostedZone(res: ServerResponse): void {
    this.xml(
      res,
      200,
      `<GetHostedZoneResponse xmlns="${XMLNS}"><HostedZone><Id>/hostedzone/${this.zoneId}</Id><Name>${this.zoneName}</Name><CallerReference>fake</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>${this.records.size + 2}</ResourceRecordSetCount></HostedZone><DelegationSet><NameServers><NameServer>ns-1.awsdns-00.com</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>`,
    );
  }

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
    const sameNameAndType = [...this.records.values()].filter(
      (r) => r.name === record.name && r.type === record.type,
    );
    if (record.setIdentifier === undefined && sameNameAndType.some((r) => r.setIdentifier !== undefined))
      return `[RRSet with DNS name ${record.name}, type ${record.type} cannot be created as other RRSets exist with the same name and type.]`;
    if (record.setIdentifier !== undefined && sameNameAndType.some((r) => r.setIdentifier === undefined))
      return `[RRSet with DNS name ${record.name}, type ${record.type}, SetIdentifier ${record.setIdentifier} cannot be created because a non multivalue answer rrset exists with the same name and type.]`;
    const otherPolicy = sameNameAndType.find(
      (r) => r.setIdentifier !== record.setIdentifier && routingPolicy(r) !== routingPolicy(record),
    );
    if (record.setIdentifier !== undefined && otherPolicy)
      return `[RRSet with DNS name ${record.name}, type ${record.type}, SetIdentifier ${record.setIdentifier} cannot be created because a ${routingPolicy(otherPolicy)} rrset exists with the same name and type.]`;
    return undefined;
  }

  /** Route 53 deletes a record set only when the request names it exactly as it is. */
  private deletionRefusal(record: Route53Record): string | undefined {
    const current = this.records.get(route53Key(record));
    const same =
      current && current.ttl === record.ttl && current.values.join('\n') === record.values.join('\n');
    if (same) return undefined;
    return `[Tried to delete resource record set [name='${record.name}', type='${record.type}'] but ${current ? 'the values provided do not match the current values' : 'it was not found'}]`;
  }

  private listRecords(url: URL, res: ServerResponse): void {
    const start = url.searchParams.get('name') ?? '';
    const sets = [...this.records.values()]
      .filter((r) => r.name >= start)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(
        (r) =>
          `<ResourceRecordSet><Name>${r.name}</Name><Type>${r.type}</Type>${routingXml(r)}${
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

  /** A change batch is all or nothing: every change is checked before any is applied. */
  private changeRecords(body: string, res: ServerResponse): void {
    const batch: Route53Record[] = [];
    const deletions: Route53Record[] = [];
    for (const change of body.split('<Change>').slice(1)) {
      const action = tag(change, 'Action');
      const set = tag(change, 'ResourceRecordSet') ?? '';
      const record = parseRecordSet(set);
      const invalid = routingInputRefusal(record);
      if (invalid) return this.error(res, 400, 'InvalidInput', invalid);
      if (!record.name.endsWith(this.zoneName))
        return this.error(
          res,
          400,
          'InvalidChangeBatch',
          `RRSet with DNS name ${record.name} is not permitted in zone ${this.zoneName}`,
        );
      if (action === 'DELETE') {
        const refusal = this.deletionRefusal(record);
        if (refusal) return this.error(res, 400, 'InvalidChangeBatch', refusal);
        deletions.push(record);
        continue;
      }
      if (action !== 'UPSERT' && action !== 'CREATE')
        return this.error(res, 400, 'InvalidInput', `unsupported action ${action}`);
      const refusal = this.refusal(record);
      if (refusal) return this.error(res, 400, 'InvalidChangeBatch', refusal);
      batch.push(record);
    }
    for (const record of deletions) this.records.delete(route53Key(record));
    for (const record of batch) this.records.set(route53Key(record), record);
    const id = `C${String(++this.counter).padStart(8, '0')}`;
    this.changes.set(id, { polls: 0 });
    this.xml(
      res,
      200,
      `<ChangeResourceRecordSetsResponse xmlns="${XMLNS}">${this.changeInfo(id, 'PENDING')}</ChangeResourceRecordSetsResponse>`,
    );
  }

  private getChange(id: string, res: ServerResponse): void {
    const state = this.changes.get(id);
    if (!state)
      return this.error(res, 404, 'NoSuchChange', 'A change with the specified change ID does not exist.');
    state.polls += 1;
    const status = state.polls > this.pendingPolls ? 'INSYNC' : 'PENDING';
    this.xml(
      res,
      200,
      `<GetChangeResponse xmlns="${XMLNS}">${this.changeInfo(id, status)}</GetChangeResponse>`,
    );
  }
}

/** A ResourceRecordSet element as sent, with its routing policy when it has one. */
function parseRecordSet(set: string): Route53Record {
  const record: Route53Record = {
    name: tag(set, 'Name') ?? '',
    type: tag(set, 'Type') ?? '',
    ttl: Number(tag(set, 'TTL') ?? 0),
    values: [...set.matchAll(/<Value>([\s\S]*?)<\/Value>/g)].map((m) => m[1]),
  };
  const alias = tag(tag(set, 'AliasTarget') ?? '', 'DNSName');
  if (alias !== undefined) record.alias = alias;
  const setIdentifier = tag(set, 'SetIdentifier');
  if (setIdentifier !== undefined) record.setIdentifier = setIdentifier;
  const failover = tag(set, 'Failover');
  if (failover !== undefined) record.failover = failover as Route53Record['failover'];
  const weight = tag(set, 'Weight');
  if (weight !== undefined) record.weight = Number(weight);
  const healthCheckId = tag(set, 'HealthCheckId');
  if (healthCheckId !== undefined) record.healthCheckId = healthCheckId;
  return record;
}

/** The routing policy a record set carries; one name and type serve one policy. */
function routingPolicy(r: Route53Record): 'failover' | 'weighted' | 'simple' {
  if (r.failover !== undefined) return 'failover';
  return r.weight !== undefined ? 'weighted' : 'simple';
}

/** A routed record needs its policy, and a policy needs an identifier (InvalidInput). */
function routingInputRefusal(r: Route53Record): string | undefined {
  if (r.failover !== undefined && r.failover !== 'PRIMARY' && r.failover !== 'SECONDARY')
    return `Invalid request: Expected PRIMARY or SECONDARY for Failover, got ${String(r.failover)}`;
  if (r.weight !== undefined && !(Number.isInteger(r.weight) && r.weight >= 0 && r.weight <= 255))
    return `Invalid request: Weight must be an integer from 0 to 255, got ${String(r.weight)}`;
  if (r.failover !== undefined && r.weight !== undefined)
    return `Invalid request: ${r.name} ${r.type} carries both Failover and Weight; a record set has one routing policy`;
  const policy = r.failover !== undefined || r.weight !== undefined;
  if (r.setIdentifier !== undefined && !policy)
    return `Invalid request: a SetIdentifier needs a routing policy (Failover, Weight, Region…) for ${r.name} ${r.type}`;
  if (r.setIdentifier === undefined && policy)
    return `Invalid request: a routing policy needs a SetIdentifier for ${r.name} ${r.type}`;
  return undefined;
}

function routingXml(r: Route53Record): string {
  return [
    r.setIdentifier !== undefined ? `<SetIdentifier>${r.setIdentifier}</SetIdentifier>` : '',
    r.weight !== undefined ? `<Weight>${r.weight}</Weight>` : '',
    r.failover !== undefined ? `<Failover>${r.failover}</Failover>` : '',
    r.healthCheckId !== undefined ? `<HealthCheckId>${r.healthCheckId}</HealthCheckId>` : '',
  ].join('');
}
