/*
 * Stand-in for Azure Resource Manager's Microsoft.Network provider as the dns step uses it: Traffic Manager
 * profiles and endpoints, Azure DNS zones and record sets (JSON over HTTPS with a bearer token: the Azure SDKs
 * insist on TLS for tokens). For the dns step's tests only.
 * Refuses, as ARM does (source: the comments below and providers.test.ts):
 * - a missing or wrong bearer token (401 AuthenticationFailed), no api-version (400 MissingApiVersionParameter);
 * - another subscription or resource group (404 ResourceGroupNotFound), another resource type (404
 *   InvalidResourceType), an unknown profile, endpoint, zone or record set (404);
 * - Traffic Manager: an endpoint addressed under another type than its own (404; see below for the source),
 *   an endpointStatus other than Enabled/Disabled, a priority outside 1-1000 or held by another
 *   endpoint of the profile (400 BadRequest: 'Traffic Manager priority routing: ... without two endpoints ever
 *   sharing one');
 * - Azure DNS: a CNAME at the apex (400 BadRequest), a CNAME beside another record set of the same name (409
 *   Conflict) ('Azure DNS: sets a record; refuses a CNAME at the apex and a CNAME beside an A record').
 * Does not model: long-running operations, ETags (If-Match), record-set size limits, routing methods other than
 * Priority, endpoint monitoring (always Online), throttling (429), latency (but `answerDelayMs`, default 0,
 * answers a PATCH, PUT or DELETE that long after applying it: shared/answer-delay.ts, for the kill-anywhere
 * benchmark).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { answerAfter } from '../shared/answer-delay.js';
import { selfSignedCertificate } from '../shared/tls.js';

/**
 * Local stand-in for the Azure DNS switches, whose control plane is not the failing region's: Azure Resource
 * Manager's Traffic Manager endpoints and Azure DNS record sets (JSON over HTTPS with a bearer token, as the
 * Azure SDKs insist on TLS for tokens).
 *
 * Traffic Manager refusals it models, with their sources (azure-rest-api-specs,
 * specification/trafficmanager/resource-manager/Microsoft.Network/stable/2018-08-01/trafficmanager.json and
 * its examples):
 * - an endpoint is addressed under its own type, `.../trafficmanagerprofiles/{profile}/{endpointType}/{name}`
 *   with `endpointType` one of AzureEndpoints, ExternalEndpoints, NestedEndpoints: an unknown type is 400
 *   BadRequest, an endpoint under another type than its own is not found (404 NotFound), as a profile may
 *   mix them (an Azure endpoint beside an external AWS one); the profile's GET lists each endpoint with its
 *   `type` (`Microsoft.Network/trafficManagerProfiles/azureEndpoints`…, example Profile-GET-WithEndpoints);
 * - `endpointStatus` other than Enabled/Disabled (the spec's enum);
 * - Priority routing: a priority outside 1-1000 (the spec: "Possible values are from 1 to 1000") or held by
 *   another endpoint of the profile (unique within a profile: Traffic Manager docs, priority routing).
 * Re-read in stable/2022-04-01/trafficmanager.json (review): an endpoint PATCH body is `Endpoint`, its fields
 * under `properties` (x-ms-client-flatten, example Endpoint-PATCH-External-Target); EndpointStatus is
 * Enabled/Disabled; priority "from 1 to 1000 … no two endpoints can share the same priority value"; errors are
 * CloudError `{error:{code,message}}`. The codes 400 BadRequest / 404 NotFound and their messages are
 * assumptions (the spec gives only CloudError). A PATCH that puts endpointStatus or priority beside
 * `properties` instead of inside it changes nothing and is answered 200 (as ARM is assumed to ignore unknown
 * top-level members): a test must check the endpoint's state after a switch, not only the 200.
 * Azure DNS refusals: a CNAME at the apex, and a CNAME beside other record sets of the same name and the
 * reverse (RFC 1034 §3.6.2; Azure DNS docs, "CNAME records"). It lists a zone's record sets
 * (RecordSets_ListByDnsZone, specification/dns/resource-manager/Microsoft.Network/stable/2018-05-01/dns.json).
 * A missing bearer token is refused; a missing resource group is 404 ResourceGroupNotFound.
 * Not modelled: geographic, weighted, subnet and multivalue routing, endpoint monitoring, nested profiles'
 * min-child rules, record-set etags (If-Match), zone delegation.
 */

const ENDPOINT_TYPES: TrafficManagerEndpointType[] = [
  'AzureEndpoints',
  'ExternalEndpoints',
  'NestedEndpoints',
];

/** The endpoint type as it appears in resource ids and types: azureEndpoints, externalEndpoints… */
const pathType = (e: ArmEndpoint) => {
  const t = e.type ?? 'ExternalEndpoints';
  return t[0].toLowerCase() + t.slice(1);
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c) => (body += String(c)));
    req.on('end', () => resolve(body));
  });
}

export type TrafficManagerEndpointType = 'AzureEndpoints' | 'ExternalEndpoints' | 'NestedEndpoints';

export interface ArmEndpoint {
  name: string;
  /** The endpoint's kind, part of its resource path; default ExternalEndpoints. */
  type?: TrafficManagerEndpointType;
  target: string;
  endpointStatus: 'Enabled' | 'Disabled';
  priority: number;
}

export interface ArmRecordSet {
  type: string;
  name: string;
  ttl: number;
  body: Record<string, unknown>;
}

/** Traffic Manager profiles and Azure DNS zones of one subscription and resource group. */
export class FakeArm {
  readonly requests: Array<{ method: string; path: string; body: string }> = [];
  readonly profiles = new Map<string, { fqdn: string; ttl: number; endpoints: ArmEndpoint[] }>();
  readonly zones = new Map<string, ArmRecordSet[]>();
  /** How long a write's (PATCH, PUT, DELETE) answer follows its effect (0: at once). */
  answerDelayMs = 0;
  private server?: Server;
  private tls = selfSignedCertificate();

  constructor(
    readonly subscription: string,
    readonly group: string,
    readonly token: string,
  ) {}

  get url(): string {
    return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get caFile(): string {
    return this.tls.caFile;
  }

  async start(): Promise<this> {
    this.server = createHttpsServer({ key: this.tls.key, cert: this.tls.cert }, (req, res) => {
      void readBody(req).then((body) => this.handle(req, body, res));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.tls.cleanup();
  }

  private send(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(value));
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    this.send(res, status, { error: { code, message } });
  }

  private handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, body });
    if (method !== 'GET') answerAfter(res, this.answerDelayMs);
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return this.error(
        res,
        401,
        'AuthenticationFailed',
        'Authentication failed. The Authorization header is missing or invalid.',
      );
    if (!url.searchParams.get('api-version'))
      return this.error(
        res,
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    const base = `/subscriptions/${this.subscription}/resourceGroups/${this.group}/providers/Microsoft.Network/`;
    if (!url.pathname.startsWith(base))
      return this.error(
        res,
        404,
        'ResourceGroupNotFound',
        `Resource group '${this.group}' could not be found.`,
      );
    const rest = url.pathname.slice(base.length).split('/').map(decodeURIComponent);
    if (rest[0] === 'trafficmanagerprofiles') return this.trafficManager(method, rest.slice(1), body, res);
    if (rest[0] === 'dnsZones') return this.dns(method, rest.slice(1), body, res);
    this.error(res, 404, 'InvalidResourceType', `The resource type '${rest[0]}' could not be found.`);
  }

  private endpointJson(profile: string, e: ArmEndpoint): unknown {
    return {
      id: `/subscriptions/${this.subscription}/resourceGroups/${this.group}/providers/Microsoft.Network/trafficManagerProfiles/${profile}/${pathType(e)}/${e.name}`,
      name: e.name,
      type: `Microsoft.Network/trafficManagerProfiles/${pathType(e)}`,
      properties: {
        target: e.target,
        endpointStatus: e.endpointStatus,
        priority: e.priority,
        endpointMonitorStatus: 'Online',
      },
    };
  }

  private trafficManager(method: string, path: string[], body: string, res: ServerResponse): void {
    const [name, type, endpointName] = path;
    const profile = this.profiles.get(name ?? '');
    if (!profile)
      return this.error(
        res,
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.Network/trafficmanagerprofiles/${name}' was not found.`,
      );
    if (!type && method === 'GET')
      return this.send(res, 200, {
        name,
        type: 'Microsoft.Network/trafficManagerProfiles',
        properties: {
          profileStatus: 'Enabled',
          trafficRoutingMethod: 'Priority',
          dnsConfig: { relativeName: name, fqdn: profile.fqdn, ttl: profile.ttl },
          endpoints: profile.endpoints.map((e) => this.endpointJson(name!, e)),
        },
      });
    if (!ENDPOINT_TYPES.some((t) => t.toLowerCase() === (type ?? '').toLowerCase()))
      return this.error(res, 400, 'BadRequest', `Endpoint type '${type}' is not valid.`);
    const endpoint = profile.endpoints.find(
      (e) => e.name === endpointName && (e.type ?? 'ExternalEndpoints').toLowerCase() === type!.toLowerCase(),
    );
    if (!endpoint)
      return this.error(
        res,
        404,
        'NotFound',
        `Endpoint '${endpointName}' of type '${type}' not found in profile '${name}'.`,
      );
    if (method === 'PATCH') {
      const change = (
        JSON.parse(body || '{}') as { properties?: { endpointStatus?: string; priority?: number } }
      ).properties;
      const status = change?.endpointStatus;
      if (status !== undefined && status !== 'Enabled' && status !== 'Disabled')
        return this.error(res, 400, 'BadRequest', `The value '${status}' is not valid for endpointStatus.`);
      const refused = this.priorityRefused(profile.endpoints, endpoint, change?.priority);
      if (refused) return this.error(res, 400, 'BadRequest', refused);
      if (status) endpoint.endpointStatus = status;
      if (change?.priority !== undefined) endpoint.priority = change.priority;
    } else if (method !== 'GET')
      return this.error(res, 405, 'MethodNotAllowed', `${method} is not supported`);
    this.send(res, 200, this.endpointJson(name!, endpoint));
  }

  /** Priority routing: a priority is an integer from 1 to 1000, held by one endpoint of the profile at most. */
  private priorityRefused(all: ArmEndpoint[], endpoint: ArmEndpoint, priority: number | undefined): string {
    if (priority === undefined) return '';
    if (!Number.isInteger(priority) || priority < 1 || priority > 1000)
      return `The priority value '${priority}' is invalid. Priority must be an integer between 1 and 1000.`;
    const holder = all.find((e) => e !== endpoint && e.priority === priority);
    return holder
      ? `Priority '${priority}' is already used by endpoint '${holder.name}'. Endpoint priorities must be unique within a profile.`
      : '';
  }

  /** Azure DNS refuses a CNAME at the apex and a CNAME beside other record sets of the same name. */
  private dns(method: string, path: string[], body: string, res: ServerResponse): void {
    const [zoneName, type, relative] = path;
    const sets = this.zones.get(zoneName ?? '');
    if (!sets)
      return this.error(
        res,
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.Network/dnszones/${zoneName}' was not found.`,
      );
    if (!type && method === 'GET')
      return this.send(res, 200, { name: zoneName, properties: { numberOfRecordSets: sets.length } });
    // RecordSets_ListByDnsZone (GET .../dnsZones/{zone}/recordsets): every record set, one page.
    if (type === 'recordsets' && !relative && method === 'GET')
      return this.send(res, 200, {
        value: sets.map((set) => ({
          name: set.name,
          type: `Microsoft.Network/dnszones/${set.type}`,
          properties: { TTL: set.ttl, ...set.body },
        })),
      });
    const at = sets.findIndex((s) => s.name === relative && s.type === type);
    if (type && relative && method === 'GET')
      return at < 0
        ? this.error(
            res,
            404,
            'NotFound',
            `The resource record '${relative}' does not exist in resource group '${this.group}' of subscription '${this.subscription}'.`,
          )
        : this.send(res, 200, {
            name: relative,
            type: `Microsoft.Network/dnszones/${type}`,
            properties: sets[at].body,
          });
    if (type && relative && method === 'DELETE') {
      // Azure DNS answers 200 for a deleted record set and 204 when there was none.
      if (at >= 0) sets.splice(at, 1);
      res.writeHead(at >= 0 ? 200 : 204);
      return void res.end();
    }
    if (method !== 'PUT' || !type || !relative)
      return this.error(res, 405, 'MethodNotAllowed', `${method} is not supported here`);
    if (type === 'CNAME' && relative === '@')
      return this.error(res, 400, 'BadRequest', 'The CNAME record set cannot be created at the zone apex.');
    const clash = sets.find(
      (s) => s.name === relative && s.type !== type && (type === 'CNAME' || s.type === 'CNAME'),
    );
    if (clash)
      return this.error(
        res,
        409,
        'Conflict',
        `The record set could not be created because a conflicting ${clash.type} record set exists with the same name.`,
      );
    const properties =
      (JSON.parse(body || '{}') as { properties?: Record<string, unknown> }).properties ?? {};
    const set: ArmRecordSet = { type, name: relative, ttl: Number(properties.TTL ?? 3600), body: properties };
    if (at >= 0) sets[at] = set;
    else sets.push(set);
    this.send(res, at >= 0 ? 200 : 201, {
      name: relative,
      type: `Microsoft.Network/dnszones/${type}`,
      properties,
    });
  }
}
