import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { blobOptionsFromS3, containerClient, describeError, SOURCE_ETAG } from './clients.js';
import pLimit from 'p-limit';
import { s3Client } from '../shared/s3.js';
import {
  StepError,
  type PreflightCheck,
  type PreflightContext,
  type StepAdapter,
  type StepContext,
  type StepResult,
} from '../types.js';
import { storageSyncParamsSchema, type ForwardSyncParams, type StorageSyncParams } from './config.js';
import { backPreflight, syncBack } from './reverse.js';

export { containerClient } from './clients.js';

/**
 * A block blob holds at most 50,000 blocks: blocks of 4 MiB cover 195 GiB, so larger objects get
 * larger blocks (whole MiB), up to S3's 5 TiB object limit.
 */
export const MAX_BLOCKS = 50_000;
export function blockSizeFor(size: number): number {
  const mib = 1 << 20;
  return Math.max(4 * mib, Math.ceil(size / MAX_BLOCKS / mib) * mib);
}

interface SourceObject {
  key: string;
  size: number;
  etag: string;
}

const cleanEtag = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');

async function listSource(s3: S3Client, p: ForwardSyncParams, signal: AbortSignal): Promise<SourceObject[]> {
  const out: SourceObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: p.source.bucket,
        Prefix: p.source.prefix || undefined,
        ContinuationToken: token,
      }),
      { abortSignal: signal },
    );
    for (const o of page.Contents ?? []) {
      if (o.Key && !o.Key.endsWith('/')) out.push({ key: o.Key, size: o.Size ?? 0, etag: cleanEtag(o.ETag) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

async function listDestination(
  container: ContainerClient,
  prefix: string,
  signal: AbortSignal,
): Promise<Map<string, { size: number; etag?: string }>> {
  const out = new Map<string, { size: number; etag?: string }>();
  for await (const blob of container.listBlobsFlat({
    prefix: prefix || undefined,
    includeMetadata: true,
    abortSignal: signal,
  })) {
    out.set(blob.name, { size: blob.properties.contentLength ?? -1, etag: blob.metadata?.[SOURCE_ETAG] });
  }
  return out;
}

async function sync(p: ForwardSyncParams, ctx: StepContext): Promise<StepResult> {
  const s3 = s3Client(p.source);
  const container = containerClient(p.destination);
  const from = `s3://${p.source.bucket}/${p.source.prefix}`;
  const to = `${container.containerName}/${p.destination.prefix}`;
  try {
    if (p.destination.create_container) {
      await container.createIfNotExists({ abortSignal: ctx.signal }).catch((e) => {
        throw new StepError(describeError(e, `creating container ${container.containerName}`));
      });
    }
    const [objects, existing] = await Promise.all([
      listSource(s3, p, ctx.signal).catch((e) => {
        throw new StepError(describeError(e, `listing ${from}`));
      }),
      listDestination(container, p.destination.prefix, ctx.signal).catch((e) => {
        throw new StepError(describeError(e, `listing ${to}`));
      }),
    ]);
    const limit = pLimit(p.concurrency);
    let copied = 0;
    let skipped = 0;
    let bytes = 0;
    const failures: string[] = [];
    const report = () =>
      ctx.progress(
        `${copied + skipped}/${objects.length} objects (${copied} copied, ${skipped} already in sync)`,
      );
    await Promise.all(
      objects.map((o) =>
        limit(async () => {
          if (ctx.signal.aborted) return;
          const name = p.destination.prefix + o.key.slice(p.source.prefix.length);
          const there = existing.get(name);
          if (there && there.size === o.size && there.etag === o.etag) {
            skipped += 1;
            return report();
          }
          try {
            const got = await s3.send(new GetObjectCommand({ Bucket: p.source.bucket, Key: o.key }), {
              abortSignal: ctx.signal,
            });
            await container
              .getBlockBlobClient(name)
              .uploadStream(got.Body as Readable, blockSizeFor(o.size), 4, {
                abortSignal: ctx.signal,
                ...blobOptionsFromS3(got, o.etag),
              });
            copied += 1;
            bytes += o.size;
            report();
          } catch (error) {
            failures.push(describeError(error, o.key));
          }
        }),
      ),
    );
    if (ctx.signal.aborted) throw new StepError(`sync stopped: ${String(ctx.signal.reason)}`);
    if (failures.length) {
      throw new StepError(
        `${failures.length} of ${objects.length} objects failed to copy (${copied} copied; a retry copies only what is missing): ${failures.slice(0, 3).join('; ')}`,
      );
    }
    return {
      summary: `${from} → ${to}: ${copied} copied (${bytes} bytes), ${skipped} already in sync, ${objects.length} total`,
      output: { total: objects.length, copied, skipped, bytes },
    };
  } finally {
    s3.destroy();
  }
}

async function forwardPreflight(p: ForwardSyncParams, ctx: PreflightContext): Promise<PreflightCheck[]> {
  const checks: PreflightCheck[] = [];
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const s3 = s3Client(p.source);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: p.source.bucket }), { abortSignal: signal });
    checks.push({ check: 'source bucket readable', ok: true, detail: `s3://${p.source.bucket}` });
  } catch (error) {
    checks.push({
      check: 'source bucket readable',
      ok: false,
      detail: describeError(error, `s3://${p.source.bucket}`),
    });
  } finally {
    s3.destroy();
  }
  try {
    const container = containerClient(p.destination);
    const exists = await container.exists({ abortSignal: signal });
    checks.push({
      check: 'destination container reachable',
      ok: exists || p.destination.create_container,
      detail: exists
        ? `${p.destination.container} exists`
        : p.destination.create_container
          ? `${p.destination.container} will be created`
          : `${p.destination.container} does not exist; create it or set create_container`,
    });
  } catch (error) {
    checks.push({
      check: 'destination container reachable',
      ok: false,
      detail: describeError(error, p.destination.container),
    });
  }
  return checks;
}

export const storageSyncAdapter: StepAdapter<StorageSyncParams> = {
  type: 'storage_sync',
  schema: storageSyncParamsSchema,
  describe: (p) =>
    p.direction === 'azure_to_s3'
      ? `sync back Azure Blob ${p.source.container}/${p.source.prefix} → s3://${p.destination.bucket}/${p.destination.prefix} (new and changed blobs${p.delete_removed ? ', deletes' : ''})`
      : `sync s3://${p.source.bucket}/${p.source.prefix} → Azure Blob ${p.destination.container}/${p.destination.prefix} (incremental, ${p.concurrency} at a time)`,
  preflight: (p, ctx) => (p.direction === 'azure_to_s3' ? backPreflight(p, ctx) : forwardPreflight(p, ctx)),
  run: (p, ctx) => (p.direction === 'azure_to_s3' ? syncBack(p, ctx) : sync(p, ctx)),
};
