import { S3Client, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

export interface ObjectSyncSettings {
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; bucket: string };
  azure: { connectionString: string; container: string };
}

export interface SyncPass {
  copied: number;
  total: number;
}

/**
 * Keeps the DR blob container in step with the primary bucket: the lab's stand-in for continuous
 * replication (S3 → Azure Blob). Each pass lists the bucket and copies objects the container lacks;
 * names already copied are remembered, so a pass costs one listing once the two are in step.
 */
export class ObjectSync {
  private readonly s3: S3Client;
  private readonly container: ContainerClient;
  private readonly copied = new Set<string>();

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

  async syncOnce(): Promise<SyncPass> {
    if (this.copied.size === 0) {
      await this.container.createIfNotExists();
      for await (const blob of this.container.listBlobsFlat()) this.copied.add(blob.name);
    }
    let copied = 0;
    let total = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.settings.s3.bucket, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key!;
        total++;
        if (this.copied.has(key)) continue;
        const got = await this.s3.send(new GetObjectCommand({ Bucket: this.settings.s3.bucket, Key: key }));
        const body = await got.Body!.transformToByteArray();
        await this.container.getBlockBlobClient(key).uploadData(body, {
          blobHTTPHeaders: { blobContentType: got.ContentType ?? 'application/octet-stream' },
        });
        this.copied.add(key);
        copied++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { copied, total };
  }

  /** Runs passes every intervalMs until the signal aborts; a failed pass (primary down) is retried. */
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
