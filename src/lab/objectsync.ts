import { createServer, type Server } from 'node:http';
import { S3Client, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { blockSizeFor } from '../actions/storage_sync/storage_sync.js';
import { blobOptionsFromS3, SOURCE_ETAG } from '../actions/storage_sync/clients.js';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

export interface ObjectSyncSettings {
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  azure: { connectionString: string; container: string };
  /** Where S3 event notifications arrive (127.0.0.1); each one starts a copy at once. */
  notifyPort?: number;
  /** Full listing passes, the backstop for lost notifications and for objects from before the sync ran. */
  reconcileMs?: number;
}

export interface SyncPass {
  copied: number;
  deleted: number;
  total: number;
}

const unquote = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

/** One object copied because its notification arrived: how long after S3 stored it. */
export interface EventCopy {
  key: string;
  lag_ms: number;
}

/**
 * Keeps the DR blob container in step with the primary bucket: the lab's continuous replication
 * (S3 → Azure Blob). Event-driven, as a product would run it (S3 event notifications → a replicator):
 * each ObjectCreated notification copies its object at once, so an object is at risk only for the
 * milliseconds between S3 storing it and the copy landing; an overwrite (a new ETag) is copied again and
 * ObjectRemoved deletes the blob. Periodic listing passes reconcile whatever a notification missed. The
 * ETag each blob was copied from is remembered (and kept in its metadata), so a pass costs one listing
 * once in step. Nothing here reads S3 at failover: Azure Blob is already current.
 */
export class ObjectSync {
  private readonly s3: S3Client;
  private readonly container: ContainerClient;
  /** key → the S3 ETag its blob was copied from. */
  private readonly copied = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private primed?: Promise<void>;

  constructor(private readonly settings: ObjectSyncSettings) {
    this.s3 = new S3Client({
      endpoint: settings.s3.endpoint,
      region: settings.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.s3.accessKeyId, secretAccessKey: settings.s3.secretAccessKey },
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 5000 },
    });
    this.container = BlobServiceClient.fromConnectionString(settings.azure.connectionString, {
      retryOptions: { maxTries: 2, tryTimeoutInMs: 5000 },
    }).getContainerClient(settings.azure.container);
  }

  /** Creates the container and learns what it already holds, once. */
  private prime(): Promise<void> {
    this.primed ??= (async () => {
      await this.container.createIfNotExists();
      for await (const blob of this.container.listBlobsFlat({ includeMetadata: true }))
        this.copied.set(blob.name, blob.metadata?.[SOURCE_ETAG] ?? '');
    })().catch((error: unknown) => {
      this.primed = undefined;
      throw error;
    });
    return this.primed;
  }

  /**
   * Copies one object unless the blob already holds this version (same ETag) or a copy is on its way;
   * true when this call copied it. Without an ETag (a notification that lacks it) the object is read.
   */
  copy(key: string, etag?: string): Promise<boolean> {
    if (etag !== undefined && this.copied.get(key) === unquote(etag)) return Promise.resolve(false);
    const running = this.inFlight.get(key);
    if (running) return running.then(() => this.copy(key, etag));
    const job = (async () => {
      await this.prime();
      if (etag !== undefined && this.copied.get(key) === unquote(etag)) return false;
      const got = await this.s3.send(new GetObjectCommand({ Bucket: this.settings.s3.bucket, Key: key }));
      const version = unquote(got.ETag);
      if (this.copied.get(key) === version) return false;
      const body = await got.Body!.transformToByteArray();
      await this.container.getBlockBlobClient(key).uploadData(body, {
        blockSize: blockSizeFor(body.byteLength),
        ...blobOptionsFromS3(got, version),
      });
      this.copied.set(key, version);
      return true;
    })().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, job);
    return job;
  }

  /** Deletes the blob of an object removed from S3. */
  async remove(key: string): Promise<void> {
    await this.prime();
    await this.inFlight.get(key)?.catch(() => undefined);
    await this.container.getBlockBlobClient(key).deleteIfExists();
    this.copied.delete(key);
  }

  /** One listing pass: copies new and changed objects, deletes blobs whose object is gone. */
  async syncOnce(): Promise<SyncPass> {
    await this.prime();
    let copied = 0;
    let total = 0;
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.settings.s3.bucket, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        total++;
        seen.add(object.Key!);
        if (await this.copy(object.Key!, object.ETag ?? '')) copied++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // Only after a complete listing: a blob whose object is not in it was deleted at the source.
    const gone = [...this.copied.keys()].filter((k) => !seen.has(k) && !this.inFlight.has(k));
    for (const key of gone) await this.remove(key);
    return { copied, deleted: gone.length, total };
  }

  /**
   * Accepts S3 event notifications (POST, the JSON S3 sends) on 127.0.0.1:port and copies each created
   * object at once. Keys arrive URL-encoded, as S3 encodes them in notifications.
   */
  listen(port: number, onCopy?: (copy: EventCopy | Error) => void): Promise<Server> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        res.writeHead(204).end();
        let records: Array<{
          eventName?: string;
          eventTime?: string;
          s3?: { object?: { key?: string; eTag?: string } };
        }>;
        try {
          records =
            (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Records?: typeof records }).Records ??
            [];
        } catch {
          return;
        }
        for (const record of records) {
          const raw = record.s3?.object?.key;
          if (!raw) continue;
          const key = decodeURIComponent(raw.replace(/\+/g, ' '));
          if (record.eventName?.startsWith('ObjectRemoved:')) {
            this.remove(key).catch((error: Error) => onCopy?.(new Error(`${key}: ${error.message}`)));
            continue;
          }
          if (!record.eventName?.startsWith('ObjectCreated:')) continue;
          const storedAt = Date.parse(record.eventTime ?? '') || Date.now();
          this.copy(key, record.s3?.object?.eTag).then(
            (did) => did && onCopy?.({ key, lag_ms: Date.now() - storedAt }),
            (error: Error) => onCopy?.(new Error(`${key}: ${error.message}`)),
          );
        }
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  }

  /** Runs reconciliation passes every intervalMs until the signal aborts; a failed pass (primary down) is retried. */
  async run(
    intervalMs: number,
    signal: AbortSignal,
    onPass?: (pass: SyncPass | Error) => void,
  ): Promise<void> {
    while (!signal.aborted) {
      try {
        onPass?.(await this.syncOnce());
      } catch (error) {
        onPass?.(error as Error);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
    }
  }

  close(): void {
    this.s3.destroy();
  }
}
