import { createRequire } from 'node:module';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { request } from 'node:http';
import type { S3EventNotification } from 's3rver';
import { daemonArgs } from './daemon-args.js';
import { freePort } from './ports.js';
import { isRunning, lastLogLines, spawnDaemon, stopProcess, waitUntil } from './process.js';

const require = createRequire(import.meta.url);

export interface S3Server {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Set when the server runs as its own process (the lab's), so another process can stop it. */
  readonly pid?: number;
  stop(): Promise<void>;
}

export interface AzuriteServer {
  readonly blobEndpoint: string;
  readonly accountName: 'devstoreaccount1';
  readonly accountKey: string;
  readonly connectionString: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** s3rver's fixed credentials; any SDK client must also set forcePathStyle. */
export const S3RVER_CREDENTIALS = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  region: 'us-east-1',
} as const;

/** Azurite's well-known development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = {
  accountName: 'devstoreaccount1' as const,
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
};

function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = request(url, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolvePromise(true);
    });
    req.on('error', () => resolvePromise(false));
    req.on('timeout', () => {
      req.destroy();
      resolvePromise(false);
    });
    req.end();
  });
}

export function s3Handle(endpoint: string, pid?: number): S3Server {
  return {
    endpoint,
    ...S3RVER_CREDENTIALS,
    pid,
    stop: async () => {
      if (pid !== undefined) await stopProcess(pid);
    },
  };
}

/** What the lab's `s3` daemon needs: startS3Server's options, resolved. */
export interface S3DaemonSettings {
  directory: string;
  port: number;
  buckets: string[];
  notifyUrl?: string;
}

/** S3 writes object keys into notifications form-encoded (space as +); s3rver leaves them raw. */
const s3NotificationKey = (key: string) => encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/gi, '/');

/**
 * Sends each S3 event notification to an HTTP endpoint, as S3 does through SNS or EventBridge: at most
 * once here, since the receiver's periodic reconciliation catches anything a lost notification missed.
 */
export function notificationForwarder(url: string): (event: S3EventNotification) => void {
  return (event) => {
    const records = event.Records.map((r) => ({
      ...r,
      s3: { ...r.s3, object: { ...r.s3.object, key: s3NotificationKey(r.s3.object.key) } },
    }));
    void fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Records: records }),
      signal: AbortSignal.timeout(2000),
    })
      .then((res) => res.body?.cancel())
      .catch(() => undefined);
  };
}

/**
 * An S3-compatible server (s3rver) on 127.0.0.1, storing objects under baseDir. In-process by default;
 * `process: 'child'` runs it as its own process so a drill can take it down like a lost site. With
 * `notifyUrl`, every object created or removed is POSTed there as an S3 event notification.
 */
export async function startS3Server(options: {
  baseDir: string;
  buckets?: string[];
  port?: number;
  process?: 'in-process' | 'child';
  notifyUrl?: string;
}): Promise<S3Server> {
  const directory = resolve(options.baseDir);
  mkdirSync(directory, { recursive: true });
  const buckets = options.buckets ?? [];
  if (options.process === 'child') {
    const settings: S3DaemonSettings = {
      directory,
      port: options.port ?? (await freePort()),
      buckets,
      notifyUrl: options.notifyUrl,
    };
    const logFile = join(directory, '..', `${directory.split('/').pop()}-s3rver.log`);
    const daemon = spawnDaemon(process.execPath, daemonArgs('s3', [`--dir=${directory}`]), {
      logFile,
      env: { ...process.env, LAB_DAEMON_SETTINGS: JSON.stringify(settings) },
    });
    const server = s3Handle(`http://127.0.0.1:${settings.port}`, daemon.pid);
    try {
      await waitUntil(
        async () => {
          if (!isRunning(daemon.pid)) throw new Error('s3rver exited');
          return httpAnswers(server.endpoint);
        },
        30_000,
        's3rver to answer',
      );
    } catch (error) {
      await server.stop();
      throw new Error(`s3rver did not start: ${(error as Error).message} ${lastLogLines(logFile)}`);
    }
    return server;
  }
  // Loaded here: the in-process server is for tests and the daemon; `lab up` starts it as a child.
  const { default: S3rver } = await import('s3rver');
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  if (options.notifyUrl) s3rver.on('event', notificationForwarder(options.notifyUrl));
  const { port } = await s3rver.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    ...S3RVER_CREDENTIALS,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await s3rver.close();
    },
  };
}

export function azuriteConnectionString(blobEndpoint: string): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT.accountName};` +
    `AccountKey=${AZURITE_ACCOUNT.accountKey};BlobEndpoint=${blobEndpoint};`
  );
}

export function azuriteHandle(blobEndpoint: string, pid: number): AzuriteServer {
  return {
    blobEndpoint,
    ...AZURITE_ACCOUNT,
    connectionString: azuriteConnectionString(blobEndpoint),
    pid,
    stop: () => stopProcess(pid),
  };
}

/**
 * Where Azurite's blob server is installed. It is a production dependency; an install that left it
 * out (a hand-pruned node_modules, an older package.json) gets the fix, not a module-resolution trace.
 */
export function azuriteBlobMain(
  findPackageJson: () => string = () => require.resolve('azurite/package.json'),
): string {
  let packageJson: string;
  try {
    packageJson = findPackageJson();
  } catch {
    throw new Error(
      "Azurite (the lab's Azure Blob server) is not installed: run `npm ci` (it is a production " +
        'dependency, so `npm ci --omit=dev` installs it too) or `npm install azurite`.',
    );
  }
  return join(dirname(packageJson), 'dist', 'src', 'blob', 'main.js');
}

/** Azurite's blob service as its own process on a free 127.0.0.1 port, data kept under baseDir. */
export async function startAzurite(options: { baseDir: string; port?: number }): Promise<AzuriteServer> {
  const location = resolve(options.baseDir);
  mkdirSync(location, { recursive: true });
  const main = azuriteBlobMain();
  let lastError = '';
  for (let attempt = 0; attempt < (options.port ? 1 : 3); attempt++) {
    const port = options.port ?? (await freePort());
    const logFile = join(location, 'azurite.log');
    const daemon = spawnDaemon(
      process.execPath,
      [
        main,
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        String(port),
        '--location',
        location,
        '--disableTelemetry',
        '--skipApiVersionCheck',
        '--loose',
        '--silent',
      ],
      { logFile },
    );
    const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT.accountName}`;
    const server = azuriteHandle(blobEndpoint, daemon.pid);
    try {
      await waitUntil(
        async () => {
          if (!isRunning(daemon.pid)) throw new Error('azurite exited');
          return httpAnswers(`http://127.0.0.1:${port}/`);
        },
        30_000,
        'Azurite to answer',
      );
      return server;
    } catch (error) {
      await server.stop();
      lastError = `${(error as Error).message} ${lastLogLines(logFile)}`;
    }
  }
  throw new Error(`Azurite did not start: ${lastError}`);
}

/**
 * After s3rver was killed mid-PUT, its directory may hold an object whose metadata file is missing or
 * cut short, which makes every later listing fail with HTTP 500. S3 never exposes a PUT it did not
 * finish (and the lab's app acknowledged none of these), so such leftovers are removed before the
 * store starts again. Returns the keys' files removed.
 */
export function repairS3Directory(directory: string): string[] {
  const removed: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('._S3rver_object')) {
        const stem = path.slice(0, -'object'.length);
        try {
          JSON.parse(readFileSync(`${stem}metadata.json`, 'utf8'));
          continue;
        } catch {
          // no metadata, or metadata cut short: the PUT never finished
        }
        for (const file of [path, `${path}.md5`, `${stem}metadata.json`]) rmSync(file, { force: true });
        removed.push(path);
      }
    }
  };
  if (existsSync(directory)) walk(directory);
  return removed;
}
