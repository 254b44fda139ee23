/**
 * The lab's sample application: a small HTTP service that writes rows to PostgreSQL and objects to an
 * object store (S3 on the primary site, Azure Blob on the DR site). It runs as its own process so a drill
 * can stop it like a lost machine. Configured by LAB_APP_* environment variables; see `appEnvironment`.
 *
 * GET /healthz     200 when its database answers ({ writable } tells a promoted/primary DB from a standby)
 * POST /items      inserts a row ({ body, object?, client_key? }), uploads items/<client_key or id>.json,
 *                  returns 201 { id, key, client_key } once both are durable
 * GET /items/:id   the row and its object
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import pg from 'pg';
import { S3Client, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

export interface AppSettings {
  site: string;
  host: string;
  port: number;
  databaseUrl: string;
  /** A release named `broken` ships a bug in our own code: every request fails with a TypeError. */
  release: string;
  store:
    | {
        kind: 's3';
        endpoint: string;
        region: string;
        accessKeyId: string;
        secretAccessKey: string;
        bucket: string;
      }
    | { kind: 'azure'; connectionString: string; container: string };
}

export { ITEMS_SCHEMA } from './items.js';
interface ObjectStore {
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string>;
}

function objectStore(settings: AppSettings['store']): ObjectStore {
  if (settings.kind === 's3') {
    const s3 = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 },
    });
    return {
      async put(key, body) {
        await s3.send(
          new PutObjectCommand({
            Bucket: settings.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/json',
          }),
        );
      },
      async get(key) {
        const out = await s3.send(new GetObjectCommand({ Bucket: settings.bucket, Key: key }));
        return out.Body!.transformToString();
      },
    };
  }
  const container: ContainerClient = BlobServiceClient.fromConnectionString(settings.connectionString, {
    retryOptions: { maxTries: 1, tryTimeoutInMs: 3000 },
  }).getContainerClient(settings.container);
  return {
    async put(key, body) {
      await container.getBlockBlobClient(key).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
    },
    async get(key) {
      return (await container.getBlobClient(key).downloadToBuffer()).toString();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface ItemView {
  id: string;
  body: string;
}

/** The bug the `broken` release ships: it reads a field of a row that the new query no longer returns. */
function renderItem(row: { item?: ItemView }): ItemView {
  return { id: row.item!.id, body: row.item!.body };
}

/** What the request handlers share: the settings, the database pool and the object store. */
interface AppContext {
  settings: AppSettings;
  pool: pg.Pool;
  store: ObjectStore;
}

/** GET /healthz: answers when the database does, and says whether it takes writes. */
async function health({ settings, pool }: AppContext, res: ServerResponse): Promise<void> {
  // Writable: not a physical standby, and not a database kept read-only (a logical subscriber
  // before its cut-over, or a fenced primary).
  const [row] = (
    await pool.query<{ recovery: boolean; ro: string }>(
      "select pg_is_in_recovery() as recovery, current_setting('transaction_read_only') as ro",
    )
  ).rows;
  send(res, 200, {
    status: 'ok',
    site: settings.site,
    release: settings.release,
    db: 'ok',
    writable: !row.recovery && row.ro === 'off',
  });
}

/** POST /items: the row and its object, acknowledged only once both are durable. */
async function createItem({ settings, pool, store }: AppContext, req: IncomingMessage, res: ServerResponse) {
  const text = await readBody(req);
  const input = (text ? JSON.parse(text) : {}) as { body?: unknown; object?: boolean; client_key?: unknown };
  const body = String(input.body ?? '');
  const clientKey = typeof input.client_key === 'string' && input.client_key ? input.client_key : null;
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ id: string }>(
      "insert into items (body, object_key, site, client_key) values ($1, '', $2, $3) returning id::text as id",
      [body, settings.site, clientKey],
    );
    const id = rows[0].id;
    // `object: false` writes the row alone (the writer's rows outnumber its objects). Named by the
    // client's key when it gave one: an id a promoted standby hands out again would name another object.
    const key = input.object === false ? '' : `items/${clientKey ?? id}.json`;
    if (key) {
      await client.query('update items set object_key = $1 where id = $2', [key, id]);
      await store.put(key, JSON.stringify({ id, body, site: settings.site }));
    }
    // Commit last: a row is only acknowledged once its object is stored.
    await client.query('commit');
    send(res, 201, { id, key, site: settings.site, client_key: clientKey });
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** GET /items/:id: the row and its object. */
async function readItem({ pool, store }: AppContext, id: string, res: ServerResponse): Promise<void> {
  const { rows } = await pool.query<{ id: string; body: string; object_key: string }>(
    'select id::text as id, body, object_key from items where id = $1',
    [id],
  );
  if (rows.length === 0) return send(res, 404, { error: 'not found' });
  const object = rows[0].object_key ? (JSON.parse(await store.get(rows[0].object_key)) as unknown) : null;
  send(res, 200, { ...rows[0], object });
}

async function handle(app: AppContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://app');
  if (app.settings.release === 'broken') renderItem({});
  if (req.method === 'GET' && url.pathname === '/healthz') return health(app, res);
  if (req.method === 'POST' && url.pathname === '/items') return createItem(app, req, res);
  const match = /^\/items\/(\d+)$/.exec(url.pathname);
  if (req.method === 'GET' && match) return readItem(app, match[1], res);
  send(res, 404, { error: 'not found' });
}

/** One JSON line on stdout: the lab keeps it in the app's log file, which its Loki stand-in serves. */
function appLogger(settings: AppSettings): (entry: Record<string, unknown>) => void {
  return (entry) =>
    process.stdout.write(
      JSON.stringify({
        time: new Date().toISOString(),
        site: settings.site,
        release: settings.release,
        ...entry,
      }) + '\n',
    );
}

export function startApp(settings: AppSettings): Promise<{ close(): Promise<void>; port: number }> {
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: 20,
    connectionTimeoutMillis: 2000,
    idleTimeoutMillis: 5000,
    query_timeout: 3000,
  });
  pool.on('error', () => undefined);
  // The fence terminates the app's sessions; one checked out mid-request must fail that request, not the app.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const app: AppContext = { settings, pool, store: objectStore(settings.store) };
  const log = appLogger(settings);

  const server = createServer((req, res) => {
    handle(app, req, res).catch((error: Error) => {
      log({ level: 'error', method: req.method, path: req.url, error: error.message, stack: error.stack });
      if (!res.headersSent) {
        send(res, error instanceof TypeError ? 500 : 503, {
          error: error.message,
          stack: error.stack,
          site: settings.site,
          release: settings.release,
        });
      }
    });
  });
  server.keepAliveTimeout = 1000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      log({ level: 'info', msg: 'listening', host: settings.host, port: settings.port });
      resolve({
        port: (server.address() as { port: number }).port,
        close: async () => {
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
          await pool.end().catch(() => undefined);
        },
      });
    });
  });
}
