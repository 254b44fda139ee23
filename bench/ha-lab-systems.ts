import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import {
  azuriteConnectionString,
  query,
  startAzurite,
  startPrimary,
  startS3Server,
  waitUntil,
  type AzuriteServer,
  type PostgresCluster,
  type S3Server,
} from '../src/lab/index.js';
import {
  ADMIN_ROLE,
  APP_ROLE,
  createManagedDatabase,
  createPublication,
  roleUrl,
  subscribeStreaming,
  SUBSCRIPTION,
} from '../src/lab/managed.js';
import { s3Client } from '../src/actions/shared/s3.js';

/**
 * The systems of the kill-anywhere runbook that need the lab's servers, not an HTTP stand-in: the old
 * primary's PostgreSQL (the fence), the DR database as its logical subscriber (the lab's cut-over: RDS →
 * Azure Flexible Server in miniature, the controller's role a non-superuser as on the managed services),
 * and an S3 bucket (s3rver) copied to an Azure Blob container (Azurite) by storage_sync. The servers
 * start once; each round gets its own database pair and container, in the state production is in before
 * a failover: rows replicated, the subscriber read-only, an app session open on the old primary.
 */

const ROWS = 50;
const OBJECTS = 12;
const OBJECT_BYTES = 16 * 1024;
const SOURCE_BUCKET = 'bench-uploads';
export const SEQUENCE_GAP = 1000;
const SCHEMA = 'CREATE TABLE orders (id bigserial PRIMARY KEY, note text)';

/**
 * A pass-through in front of an object store that counts, per object, the writes that made it visible: a
 * blob or object written twice is a copy applied twice. Which requests are such writes is the store's:
 * `written` names the object a request wrote, or undefined.
 */
export class WriteCounter {
  readonly writes = new Map<string, number>();
  private server?: Server;

  constructor(
    private readonly target: URL,
    private readonly written: (method: string, url: URL, status: number) => string | undefined,
  ) {}

  get endpoint(): string {
    const path = this.target.pathname === '/' ? '' : this.target.pathname;
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const upstream = request(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const object = this.written(req.method ?? '', url, answer.statusCode ?? 0);
          if (object) this.writes.set(object, (this.writes.get(object) ?? 0) + 1);
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  /** Writes beyond the first to each object whose name starts with `prefix`. */
  repeats(prefix: string): number {
    let n = 0;
    for (const [object, writes] of this.writes) if (object.startsWith(prefix)) n += writes - 1;
    return n;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * Azure Blob: Put Blob and Put Block List answered 201 (staged blocks show nothing until a block list
 * commits them), named `<container>/<blob>` (the path after the account).
 */
const blobWrite = (method: string, url: URL, status: number) => {
  const comp = url.searchParams.get('comp');
  if (method !== 'PUT' || status !== 201 || (comp !== 'blocklist' && comp !== null)) return undefined;
  const blob = url.pathname.split('/').slice(2).join('/');
  return blob.includes('/') ? blob : undefined;
};

/** S3 (path style): PutObject and CopyObject answered 200, named `<bucket>/<key>`; a bucket's creation is not one. */
export const objectWrite = (method: string, url: URL, status: number) => {
  if (method !== 'PUT' || status !== 200 || url.searchParams.has('uploadId')) return undefined;
  const object = decodeURIComponent(url.pathname.slice(1));
  return object.includes('/') ? object : undefined;
};

/** What a round's steps act on: its own database pair and container. */
export interface LabNames {
  database: string;
  container: string;
  /** Where the way back (Azure Blob to S3) copies the DR site's blobs, in the source bucket. */
  backPrefix: string;
}

export interface LabRound extends LabNames {
  /** An application session on the old primary, opened before the run: the fence must end it. */
  appSession: pg.Client;
  appSessionEnded: boolean;
}

export class LabSystems {
  private constructor(
    // Read by the data runbook's systems (bench/ha-data-steps.ts), which use the same servers.
    readonly publisher: PostgresCluster,
    readonly subscriber: PostgresCluster,
    readonly s3: S3Server,
    private readonly azurite: AzuriteServer,
    private readonly counter: WriteCounter,
    private readonly s3Counter: WriteCounter,
  ) {}

  static async start(baseDir: string): Promise<LabSystems> {
    const [publisher, subscriber, s3, azurite] = await Promise.all([
      startPrimary({ baseDir: join(baseDir, 'old-primary') }),
      startPrimary({ baseDir: join(baseDir, 'dr-database') }),
      startS3Server({ baseDir: join(baseDir, 's3') }),
      startAzurite({ baseDir: join(baseDir, 'azurite') }),
    ]);
    const counter = await new WriteCounter(new URL(azurite.blobEndpoint), blobWrite).start();
    const s3Counter = await new WriteCounter(new URL(s3.endpoint), objectWrite).start();
    const client = s3Client({
      bucket: SOURCE_BUCKET,
      prefix: '',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      force_path_style: true,
      access_key_id: s3.accessKeyId,
      secret_access_key: s3.secretAccessKey,
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: SOURCE_BUCKET }));
      for (let i = 0; i < OBJECTS; i++)
        await client.send(
          new PutObjectCommand({
            Bucket: SOURCE_BUCKET,
            Key: `uploads/item-${i}.bin`,
            Body: Buffer.alloc(OBJECT_BYTES, i),
            ContentType: 'application/octet-stream',
          }),
        );
    } finally {
      client.destroy();
    }
    return new LabSystems(publisher, subscriber, s3, azurite, counter, s3Counter);
  }

  names(round: number): LabNames {
    return { database: `shop_r${round}`, container: `dr-r${round}`, backPrefix: `back-r${round}/` };
  }

  /** A database pair streaming, the subscriber read-only, an app session on the old primary. */
  async prepare(round: number): Promise<LabRound> {
    const { database, container, backPrefix } = this.names(round);
    await createManagedDatabase(this.publisher, database, SCHEMA, { replication: true });
    await createManagedDatabase(this.subscriber, database, SCHEMA, { replication: false });
    await query(
      roleUrl(this.publisher, APP_ROLE, database),
      `INSERT INTO orders (note) SELECT 'o' || g FROM generate_series(1, ${ROWS}) g`,
    );
    await createPublication(this.publisher, database);
    await subscribeStreaming(this.subscriber, this.publisher, database, 60_000);
    const appSession = new pg.Client({ connectionString: roleUrl(this.publisher, APP_ROLE, database) });
    await appSession.connect();
    const lab: LabRound = { database, container, backPrefix, appSession, appSessionEnded: false };
    appSession.on('error', () => (lab.appSessionEnded = true));
    appSession.on('end', () => (lab.appSessionEnded = true));
    return lab;
  }

  /**
   * fence, the lab's logical cut-over, storage_sync, and the way back (Azure Blob to S3, as reprotect
   * copies what the DR site wrote): in the order a failover takes them.
   */
  steps(r: LabNames) {
    return [
      {
        name: 'fence-old-primary',
        type: 'fence',
        params: { database: { connection: roleUrl(this.publisher, ADMIN_ROLE, r.database) } },
      },
      {
        name: 'cutover-db',
        type: 'database',
        params: {
          action: 'cutover',
          subscriber: roleUrl(this.subscriber, ADMIN_ROLE, r.database),
          publisher: roleUrl(this.publisher, ADMIN_ROLE, r.database),
          // PostgreSQL 15 (the lab's) lets only a superuser own a subscription.
          subscription_owner: this.subscriber.connectionString(r.database),
          sequence_gap: SEQUENCE_GAP,
        },
      },
      {
        name: 'sync-objects',
        type: 'storage_sync',
        params: {
          source: {
            bucket: SOURCE_BUCKET,
            prefix: 'uploads/',
            endpoint: this.s3.endpoint,
            access_key_id: this.s3.accessKeyId,
            secret_access_key: this.s3.secretAccessKey,
          },
          destination: {
            connection_string: azuriteConnectionString(this.counter.endpoint),
            container: r.container,
            prefix: 'mirror/',
          },
          concurrency: 4,
        },
      },
      {
        name: 'sync-objects-back',
        type: 'storage_sync',
        params: {
          direction: 'azure_to_s3',
          source: {
            connection_string: azuriteConnectionString(this.counter.endpoint),
            container: r.container,
            prefix: 'mirror/',
          },
          destination: {
            bucket: SOURCE_BUCKET,
            prefix: r.backPrefix,
            endpoint: this.s3Counter.endpoint,
            access_key_id: this.s3.accessKeyId,
            secret_access_key: this.s3.secretAccessKey,
          },
          concurrency: 4,
        },
      },
    ];
  }

  /** The objects the way back wrote, without the round's prefix. */
  private async copiedBack(r: LabNames): Promise<Array<{ key: string; size?: number; etag?: string }>> {
    const client = s3Client({
      bucket: SOURCE_BUCKET,
      prefix: '',
      region: 'us-east-1',
      endpoint: this.s3.endpoint,
      force_path_style: true,
      access_key_id: this.s3.accessKeyId,
      secret_access_key: this.s3.secretAccessKey,
    });
    try {
      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: SOURCE_BUCKET, Prefix: r.backPrefix }),
      );
      return (listed.Contents ?? [])
        .map((o) => ({ key: o.Key!.slice(r.backPrefix.length), size: o.Size, etag: o.ETag }))
        .sort((a, b) => a.key.localeCompare(b.key));
    } finally {
      client.destroy();
    }
  }

  private async sequenceValue(database: string): Promise<number> {
    const [row] = await query<{ v: string | null }>(
      this.subscriber.connectionString(database),
      "SELECT last_value::text AS v FROM pg_sequences WHERE sequencename = 'orders_id_seq'",
    );
    return Number(row?.v ?? 0);
  }

  /** What the fence, the cut-over and the sync left, without the round's names. */
  async snapshot(r: LabRound): Promise<Record<string, unknown>> {
    const setting = (cluster: PostgresCluster) =>
      query<{ s: string[] | null }>(
        cluster.connectionString(),
        `SELECT setconfig AS s FROM pg_db_role_setting
          WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = $1)`,
        [r.database],
      ).then((rows) => rows[0]?.s ?? null);
    const [acl] = await query<{ acl: string }>(
      this.publisher.connectionString(),
      'SELECT datacl::text AS acl FROM pg_database WHERE datname = $1',
      [r.database],
    );
    const [sub] = await query<{ enabled: boolean; rows: number }>(
      this.subscriber.connectionString(r.database),
      `SELECT (SELECT subenabled FROM pg_subscription WHERE subname = '${SUBSCRIPTION}'
                 AND subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS enabled,
              (SELECT count(*)::int FROM orders) AS rows`,
    );
    const blobs: Array<{ name: string; size?: number; etag?: string }> = [];
    const container = BlobServiceClient.fromConnectionString(
      this.azurite.connectionString,
    ).getContainerClient(r.container);
    if (await container.exists())
      for await (const b of container.listBlobsFlat({ includeMetadata: true }))
        blobs.push({ name: b.name, size: b.properties.contentLength, etag: b.metadata?.sourceetag });
    return {
      fence: {
        settings: await setting(this.publisher),
        acl: acl?.acl,
        app_session_ended: r.appSessionEnded,
      },
      database_cutover: {
        subscription_enabled: sub?.enabled,
        rows: sub?.rows,
        settings: await setting(this.subscriber),
        orders_id_seq: await this.sequenceValue(r.database),
      },
      storage_sync: blobs.sort((a, b) => a.name.localeCompare(b.name)),
      storage_sync_back: await this.copiedBack(r),
    };
  }

  /**
   * Effects applied more than once: a blob written twice (counted at the pass-through), a sequence
   * advanced by the gap more than once. The fence's layers are settings, not increments: its repeats
   * show, if anywhere, in the final state.
   */
  async duplicated(r: LabRound): Promise<Record<string, number>> {
    const advances = Math.round(((await this.sequenceValue(r.database)) - ROWS) / SEQUENCE_GAP);
    return {
      storage_sync: this.counter.repeats(`${r.container}/`),
      storage_sync_back: this.s3Counter.repeats(`${SOURCE_BUCKET}/${r.backPrefix}`),
      database_sequence_advances: Math.max(0, advances - 1),
    };
  }

  /** Drops the round's subscription, slot and databases, so the servers' slot and connection limits hold. */
  async cleanup(r: LabNames & { appSession?: pg.Client }): Promise<void> {
    await r.appSession?.end().catch(() => undefined);
    // The subscriber may still be read-only (a round that failed before its cut-over).
    const sub = `${this.subscriber.connectionString(r.database)}?options=${encodeURIComponent('-c default_transaction_read_only=off')}`;
    await query(sub, `ALTER SUBSCRIPTION ${SUBSCRIPTION} DISABLE`).catch(() => undefined);
    await query(sub, `ALTER SUBSCRIPTION ${SUBSCRIPTION} SET (slot_name = NONE)`).catch(() => undefined);
    await query(sub, `DROP SUBSCRIPTION IF EXISTS ${SUBSCRIPTION}`).catch(() => undefined);
    await waitUntil(
      async () => {
        await query(
          this.publisher.connectionString(),
          `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
            WHERE database = $1 AND NOT active`,
          [r.database],
        );
        const left = await query(
          this.publisher.connectionString(),
          'SELECT 1 FROM pg_replication_slots WHERE database = $1',
          [r.database],
        );
        return left.length === 0;
      },
      30_000,
      `the replication slot of ${r.database} to go`,
      200,
    ).catch(() => undefined);
    for (const cluster of [this.publisher, this.subscriber])
      await query(cluster.connectionString(), `DROP DATABASE IF EXISTS ${r.database} WITH (FORCE)`).catch(
        (e: Error) => process.stderr.write(`could not drop ${r.database}: ${e.message}\n`),
      );
  }

  async stop(): Promise<void> {
    await Promise.all([this.counter.stop(), this.s3Counter.stop()]);
    await Promise.allSettled([
      this.publisher.stop(),
      this.subscriber.stop(),
      this.s3.stop(),
      this.azurite.stop(),
    ]);
  }
}
