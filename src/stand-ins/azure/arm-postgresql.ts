/*
 * Stand-in for Azure Resource Manager's Microsoft.DBforPostgreSQL flexibleServers (JSON over HTTPS with a bearer
 * token, long-running operations polled through Azure-AsyncOperation), for the database step's tests only.
 * Refuses, as ARM does (source: the comments below; azure.test.ts 'what ARM refuses comes back as a clear step
 * error' and database/drill.test.ts 'ARM refuses a restore point outside the retention window'):
 * - no bearer token (401 AuthenticationFailed), a wrong one (401 InvalidAuthenticationToken), no api-version
 *   (400 MissingApiVersionParameter);
 * - an unknown server or operation (404 ResourceNotFound);
 * - a promote of a server that is not a replica, a Switchover promote without the virtual endpoint it requires
 *   (400 InvalidParameterValue);
 * - a PUT that is not a point-in-time restore, a name in use (409 ServerNameAlreadyExists), an unknown source
 *   (404), a restore point outside the source's retention window or in the future (400 InvalidParameterValue),
 *   a restore whose source is a read replica (400 OperationNotSupported: see below for the source).
 * promoteMode is compared without regard to case: the SDK (api-version 2025-08-01) sends `Switchover`, the
 * spec's 2024-08-01 examples (PromoteReplicaAsPlannedSwitchover.json) send `switchover`. The 400
 * `InvalidParameterValue` codes for a promote are assumptions (azure-rest-api-specs gives only ErrorResponse).
 * Does not model: a GeoAsyncReplica (the role type here has no such value, so a restore from one is
 * untested), creating a server other than by restore, PATCH of anything but replica.promoteMode, failed
 * operations, throttling (429), geo-restore, polling through the Location URL.
 */
import { selfSignedCertificate } from '../shared/tls.js';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTPS server in the shape of Azure Resource Manager for Microsoft.DBforPostgreSQL
 * flexibleServers: GET and PATCH on the server, PATCH answered 202 with `Azure-AsyncOperation` and
 * `Location` headers, and the operation polled to its end (the long-running-operation pattern). It
 * refuses what ARM refuses: no bearer token (401 AuthenticationFailed), no api-version (400
 * MissingApiVersionParameter), an unknown server (404 ResourceNotFound), a promote of a server that is
 * not a replica, a switchover without the virtual endpoints Azure requires for it, a point-in-time
 * restore (PUT, createMode PointInTimeRestore) outside the source's retention window, and a point-in-time
 * restore whose source is a read replica (Azure keeps no backups of read replicas: "Backups, including
 * geo-backups" are listed under the unsupported features of read replicas, learn.microsoft.com
 * azure/postgresql/flexible-server/concepts-read-replicas; the ARM error code and status for it are not in
 * azure-rest-api-specs, so 400 `OperationNotSupported` is an assumption). A replica's GET carries
 * `sourceServerResourceId`, its primary (azure-rest-api-specs, Microsoft.DBforPostgreSQL flexibleServers
 * `ServerProperties.sourceServerResourceId`). DELETE removes a server once its operation ends.
 * Test fixture: Azure cannot run on this machine. The bearer SDK policy insists on TLS, so it serves
 * HTTPS with a self-signed certificate made by openssl; `caFile` is what a client trusts.
 */
export interface FakeFlexibleServer {
  name: string;
  role: 'Primary' | 'AsyncReplica' | 'None';
  /** A replica's primary (its `sourceServerResourceId`), by name. */
  source?: string;
  /** The server's region; default westeurope. */
  location?: string;
  virtualEndpoint?: boolean;
  /** The oldest point a restore may go back to (the backup retention window's start); default 7 days ago. */
  earliestRestoreDate?: Date;
  tags?: Record<string, string>;
  /** A point-in-time restore: the server it was restored from, and to when. */
  restoredFrom?: { source: string; pointInTime: string };
  /** Its fullyQualifiedDomainName; default `<name>.postgres.database.azure.com`. */
  fqdn?: string;
  state?: 'Ready' | 'Provisioning' | 'Dropping';
}

export class FakeArm {
  private server?: Server;
  private readonly servers = new Map<string, FakeFlexibleServer>();
  private readonly operations = new Map<
    string,
    { polls: number; server: string; kind: 'promote' | 'create' | 'delete' }
  >();
  readonly requests: Array<{ method: string; path: string; body: string }> = [];
  caFile = '';
  /**
   * Test fixture: the fullyQualifiedDomainName (host, or host:port) of the servers it restores, so a test
   * can point "the restored copy" at a local PostgreSQL; default `<name>.postgres.database.azure.com`.
   */
  restoreHost?: string;
  private removeCertificate: () => void = () => undefined;

  constructor(
    seed: FakeFlexibleServer[],
    private readonly token = 'arm-test-token',
    /** Polls an operation answers InProgress before it ends. */
    private readonly pollsToFinish = 2,
  ) {
    for (const s of seed) this.servers.set(s.name.toLowerCase(), { ...s });
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The step params that reach this server as an ARM endpoint: token, endpoint, CA. */
  access(): { access_token: string; endpoint: string; ca_file: string } {
    return { access_token: this.token, endpoint: this.url, ca_file: this.caFile };
  }

  role(name: string): string | undefined {
    return this.servers.get(name.toLowerCase())?.role;
  }

  /** A server as the fake holds it (undefined: ARM does not know it). */
  flexibleServer(name: string): FakeFlexibleServer | undefined {
    return this.servers.get(name.toLowerCase());
  }

  async start(): Promise<this> {
    const tls = selfSignedCertificate();
    this.caFile = tls.caFile;
    this.removeCertificate = tls.cleanup;
    this.server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => this.handle(req, res, body));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
    this.removeCertificate();
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, code: string, message: string) {
    this.send(res, status, { error: { code, message } });
  }

  private resource(subscription: string, group: string, s: FakeFlexibleServer) {
    return {
      id: `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${s.name}`,
      name: s.name,
      type: 'Microsoft.DBforPostgreSQL/flexibleServers',
      location: s.location ?? 'westeurope',
      tags: s.tags ?? {},
      properties: {
        state: s.state ?? 'Ready',
        ...(s.source
          ? {
              sourceServerResourceId: `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${s.source}`,
            }
          : {}),
        fullyQualifiedDomainName: s.fqdn ?? `${s.name}.postgres.database.azure.com`,
        backup: { backupRetentionDays: 7, earliestRestoreDate: this.earliest(s).toISOString() },
        replicationRole: s.role,
        replica: {
          role: s.role,
          capacity: 5,
          ...(s.role === 'AsyncReplica' ? { replicationState: 'Active' } : {}),
        },
      },
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'https://arm');
    this.requests.push({ method: req.method ?? '', path: url.pathname, body });
    if (!req.headers.authorization)
      return this.error(
        res,
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
      );
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return this.error(res, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (!url.searchParams.get('api-version'))
      return this.error(
        res,
        400,
        'MissingApiVersionParameter',
        'The api-version query parameter (?api-version=) is required for all requests.',
      );
    const op = /\/azureAsyncOperation\/([^/]+)$/.exec(url.pathname);
    if (op && req.method === 'GET') return this.poll(res, op[1]);
    const m =
      /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.DBforPostgreSQL\/flexibleServers\/([^/]+)$/i.exec(
        url.pathname,
      );
    if (m && req.method === 'PUT') return this.create(res, url, m[1], m[2], m[3], body);
    const s = m && this.servers.get(m[3].toLowerCase());
    if (!m || !s)
      return this.error(
        res,
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.DBforPostgreSQL/flexibleServers/${m?.[3] ?? '?'}' under resource group '${m?.[2] ?? '?'}' was not found.`,
      );
    if (req.method === 'GET') return this.send(res, 200, this.resource(m[1], m[2], s));
    if (req.method === 'PATCH') return this.patch(res, url, m[1], s, body);
    if (req.method === 'DELETE') {
      s.state = 'Dropping';
      return this.accepted(res, url, m[1], s.name, 'delete', 202);
    }
    this.error(res, 405, 'MethodNotAllowed', `${req.method} is not supported on this resource`);
  }

  private patch(
    res: ServerResponse,
    url: URL,
    subscription: string,
    s: FakeFlexibleServer,
    body: string,
  ): void {
    const replica = (JSON.parse(body || '{}') as { properties?: { replica?: { promoteMode?: string } } })
      .properties?.replica;
    if (replica?.promoteMode) {
      if (s.role !== 'AsyncReplica')
        return this.error(
          res,
          400,
          'InvalidParameterValue',
          `Server '${s.name}' is not a read replica and cannot be promoted.`,
        );
      if (replica.promoteMode.toLowerCase() === 'switchover' && !s.virtualEndpoint)
        return this.error(
          res,
          400,
          'InvalidParameterValue',
          'Promote to primary server requires a virtual endpoint whose reader endpoint includes this replica.',
        );
    }
    this.accepted(res, url, subscription, s.name, 'promote', 202);
  }

  private earliest(s: FakeFlexibleServer): Date {
    return s.earliestRestoreDate ?? new Date(Date.now() - 7 * 86_400_000);
  }

  /** A long-running operation started: 201/202 with the headers the SDK polls. */
  private accepted(
    res: ServerResponse,
    url: URL,
    subscription: string,
    server: string,
    kind: 'promote' | 'create' | 'delete',
    status: number,
    body: unknown = null,
  ): void {
    const id = `op-${this.operations.size + 1}`;
    this.operations.set(id, { polls: 0, server: server.toLowerCase(), kind });
    const base = `${this.url}/subscriptions/${subscription}/providers/Microsoft.DBforPostgreSQL/locations/westeurope`;
    const version = url.searchParams.get('api-version');
    this.send(res, status, body, {
      'Azure-AsyncOperation': `${base}/azureAsyncOperation/${id}?api-version=${version}`,
      Location: `${base}/operationResults/${id}?api-version=${version}`,
    });
  }

  /**
   * PUT of a server: only a point-in-time restore here. ARM refuses an unknown source, a name in use,
   * and a restore point outside the source's retention window (before its earliest restore date, or
   * in the future).
   */
  private create(
    res: ServerResponse,
    url: URL,
    subscription: string,
    group: string,
    name: string,
    body: string,
  ): void {
    const sent = JSON.parse(body || '{}') as {
      tags?: Record<string, string>;
      properties?: { createMode?: string; sourceServerResourceId?: string; pointInTimeUTC?: string };
    };
    const p = sent.properties ?? {};
    if (p.createMode !== 'PointInTimeRestore')
      return this.error(
        res,
        400,
        'InvalidParameterValue',
        `createMode ${p.createMode} is not supported here`,
      );
    if (this.servers.has(name.toLowerCase()))
      return this.error(
        res,
        409,
        'ServerNameAlreadyExists',
        `Specified server name '${name}' is already used.`,
      );
    const sourceName = /\/flexibleServers\/([^/]+)$/i.exec(p.sourceServerResourceId ?? '')?.[1] ?? '';
    const source = this.servers.get(sourceName.toLowerCase());
    if (!source)
      return this.error(
        res,
        404,
        'ResourceNotFound',
        `The source server '${p.sourceServerResourceId}' was not found.`,
      );
    if (source.role === 'AsyncReplica')
      return this.error(
        res,
        400,
        'OperationNotSupported',
        `Point-in-time restore is not supported for '${source.name}': it is a read replica, and read replicas have no backups. Restore its source server instead.`,
      );
    const at = new Date(p.pointInTimeUTC ?? '');
    if (Number.isNaN(at.getTime()) || at < this.earliest(source) || at.getTime() > Date.now())
      return this.error(
        res,
        400,
        'InvalidParameterValue',
        `The restore point '${p.pointInTimeUTC}' is outside the backup retention window of server '${source.name}': choose a time between ${this.earliest(source).toISOString()} and now.`,
      );
    const created: FakeFlexibleServer = {
      name,
      role: 'None',
      tags: sent.tags,
      restoredFrom: { source: source.name, pointInTime: at.toISOString() },
      ...(this.restoreHost !== undefined && { fqdn: this.restoreHost }),
      state: 'Provisioning',
    };
    this.servers.set(name.toLowerCase(), created);
    this.accepted(res, url, subscription, name, 'create', 201, this.resource(subscription, group, created));
  }

  private poll(res: ServerResponse, id: string): void {
    const op = this.operations.get(id);
    if (!op) return this.error(res, 404, 'ResourceNotFound', `Operation ${id} was not found.`);
    op.polls++;
    if (op.polls < this.pollsToFinish)
      return this.send(res, 200, { name: id, status: 'InProgress', startTime: new Date().toISOString() });
    const s = this.servers.get(op.server)!;
    if (op.kind === 'promote' && s.role === 'AsyncReplica') s.role = 'Primary';
    if (op.kind === 'create') s.state = 'Ready';
    if (op.kind === 'delete') this.servers.delete(op.server);
    this.send(res, 200, { name: id, status: 'Succeeded', startTime: new Date().toISOString() });
  }
}
