import {
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';
import { s3Client } from '../shared/s3.js';
import {
  StepError,
  type PreflightCheck,
  type PreflightContext,
  type StepContext,
  type StepResult,
} from '../types.js';
import type { Readable } from 'node:stream';
import {
  containerClient,
  describeError,
  s3HeadersFromBlob,
  SOURCE_ETAG,
  type BlobHeaders,
} from './clients.js';
import type { BackSyncParams } from './config.js';

/** S3's largest single PUT; larger blobs need a multipart upload, which the way back does not do yet. */
const MAX_SINGLE_PUT = 5 * 1024 ** 3;
/** Blobs up to this size are copied from memory, larger ones streamed. */
const BUFFER_UP_TO = 8 * 1024 ** 2;

interface BlobVersion {
  name: string;
  lastModified: Date | undefined;
  size: number;
  /** The blob's own ETag: the copy back marks this version copied only if the blob is still it. */
  etag: string | undefined;
  headers: BlobHeaders;
  metadata: Record<string, string>;
  /** What S3 reports as the ETag of a simple upload of these bytes: their MD5, in hex. */
  md5: string | undefined;
  /**
   * The S3 ETag of this blob's version on the S3 side: written by the forward replication, or by the way
   * back after its PutObject. Compared as given, because an ETag is the MD5 only for simple uploads
   * without SSE-KMS (multipart and KMS-encrypted objects have others).
   */
  from_s3: string | undefined;
}

async function listBlobs(container: ContainerClient, prefix: string, signal: AbortSignal) {
  const out: BlobVersion[] = [];
  for await (const blob of container.listBlobsFlat({
    prefix: prefix || undefined,
    includeMetadata: true,
    abortSignal: signal,
  })) {
    const md5 = blob.properties.contentMD5;
    out.push({
      name: blob.name,
      lastModified: blob.properties.lastModified,
      size: blob.properties.contentLength ?? 0,
      etag: blob.properties.etag,
      headers: blob.properties,
      metadata: blob.metadata ?? {},
      md5: md5 ? Buffer.from(md5).toString('hex') : undefined,
      from_s3: blob.metadata?.[SOURCE_ETAG],
    });
  }
  return out;
}

async function listObjects(s3: S3Client, p: BackSyncParams, signal: AbortSignal) {
  const out = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: p.destination.bucket,
        Prefix: p.destination.prefix || undefined,
        ContinuationToken: token,
      }),
      { abortSignal: signal },
    );
    for (const o of page.Contents ?? [])
      if (o.Key) out.set(o.Key, { size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, '') });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/**
 * Copies one blob into S3 with its headers and user metadata, then records the S3 ETag of that copy
 * in the blob's metadata (only if the blob is still the version read) so the next pass skips it
 * whatever S3's ETag is. A failed mark is harmless: the next pass copies it once more. A blob changed
 * since the listing (412: another pass marked it, or it was written again) is left to the next pass.
 */
async function copyBack(
  container: ContainerClient,
  s3: S3Client,
  p: BackSyncParams,
  b: BlobVersion,
  key: string,
  signal: AbortSignal,
): Promise<'copied' | 'changed'> {
  if (b.size > MAX_SINGLE_PUT) throw new Error(`${b.size} bytes: over S3's 5 GiB single upload`);
  const blob = container.getBlobClient(b.name);
  const conditions = b.etag ? { ifMatch: b.etag } : undefined;
  // Small blobs are read whole so the S3 client may retry the PUT (a stream can be sent once only);
  // larger ones stream, since a buffer of several GiB does not fit in Node.
  const read = async () =>
    b.size <= BUFFER_UP_TO
      ? await blob.downloadToBuffer(0, undefined, { abortSignal: signal, conditions })
      : ((await blob.download(0, undefined, { abortSignal: signal, conditions }))
          .readableStreamBody as Readable);
  const body = await read().catch((error: { statusCode?: number }) => {
    if (error.statusCode === 412) return undefined;
    throw error;
  });
  if (!body) return 'changed';
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: p.destination.bucket,
      Key: key,
      Body: body,
      ContentLength: b.size,
      ...s3HeadersFromBlob(b.headers, b.metadata),
    }),
    { abortSignal: signal },
  );
  // An ETag that is the blob's MD5 (a simple upload without SSE-KMS) is recognised by the next pass as
  // it is; only another ETag (multipart, SSE-KMS, a blob without MD5) is written down, saving a call.
  const etag = put.ETag?.replace(/"/g, '');
  if (etag && etag !== b.md5)
    await blob
      .setMetadata({ ...b.metadata, [SOURCE_ETAG]: etag }, { abortSignal: signal, conditions })
      .catch(() => undefined);
  return 'copied';
}

export interface BackPass {
  total: number;
  copied: number;
  skipped: number;
  deleted: number;
  bytes: number;
  /** Blobs compared with S3: every blob in a full pass, only those written since the mark in a continuing one. */
  examined: number;
  /** Whether S3 was listed (a full pass) or only the blobs written since `since` were checked one by one. */
  mode: 'full' | 'since';
}

/**
 * Where a pass began: the Blob service's own time (its Date header) before it listed. Every blob written
 * after that has a Last-Modified at or after it (both are the service's clock, in whole seconds), and
 * every blob written before was listed and is in S3 once the pass succeeded.
 */
export interface BackMark {
  listed_at: string;
}

/**
 * Blobs modified this long before the mark are checked again: Date and Last-Modified come from the
 * service's clock but not necessarily from one machine of it. A check of a blob S3 holds is a HEAD.
 */
export const MARK_MARGIN_MS = 5_000;

/**
 * One pass Azure Blob → S3: copies every blob S3 does not hold in this version (same size, and the ETag
 * it was copied from or its MD5), and with `delete_removed` deletes objects that have no blob. The step
 * runs one after the fence; the lab's reverse replicator runs it every second while reprotected.
 * With `since` (an earlier pass's mark) S3 is not listed: only blobs written since are checked, by a
 * HEAD each, so the pass follows what changed, not the bucket (Blob's listing cannot filter by time, so
 * the container is still listed once).
 */
export async function backPass(
  p: BackSyncParams,
  signal: AbortSignal,
  progress?: (m: string) => void,
  since?: BackMark,
): Promise<BackPass & { mark: BackMark }> {
  const container = containerClient(p.source);
  const s3 = s3Client(p.destination);
  const to = (name: string) => p.destination.prefix + name.slice(p.source.prefix.length);
  const where = `${container.containerName}/${p.source.prefix}`;
  try {
    // The service's time before the listing starts: the mark the next pass continues from.
    const started = await container.getProperties({ abortSignal: signal }).catch((e) => {
      throw new StepError(describeError(e, `reading ${container.containerName}`));
    });
    const mark: BackMark = { listed_at: (started.date ?? new Date()).toISOString() };
    const listing = listBlobs(container, p.source.prefix, signal).catch((e) => {
      throw new StepError(describeError(e, `listing ${where}`));
    });
    let blobs: BlobVersion[];
    let objects: Map<string, { size: number; etag: string }> | undefined;
    if (since) {
      const from = Date.parse(since.listed_at) - MARK_MARGIN_MS;
      // A blob without a Last-Modified (never from the service) is checked rather than trusted.
      blobs = (await listing).filter((b) => !b.lastModified || b.lastModified.getTime() >= from);
    } else {
      [blobs, objects] = await Promise.all([
        listing,
        listObjects(s3, p, signal).catch((e) => {
          throw new StepError(
            describeError(e, `listing s3://${p.destination.bucket}/${p.destination.prefix}`),
          );
        }),
      ]);
    }
    const total = since ? (await listing).length : blobs.length;
    const pass: BackPass = {
      total,
      copied: 0,
      skipped: 0,
      deleted: 0,
      bytes: 0,
      examined: blobs.length,
      mode: since ? 'since' : 'full',
    };
    const inS3 = async (key: string) => {
      if (objects) return objects.get(key);
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: p.destination.bucket, Key: key }), {
          abortSignal: signal,
        });
        return { size: head.ContentLength ?? 0, etag: (head.ETag ?? '').replace(/"/g, '') };
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        if (e.$metadata?.httpStatusCode === 404 || e.name === 'NotFound') return undefined;
        throw error;
      }
    };
    const failures: string[] = [];
    const limit = pLimit(p.concurrency);
    await Promise.all(
      blobs.map((b) =>
        limit(async () => {
          try {
            const there = await inS3(to(b.name));
            if (there && there.size === b.size && (there.etag === b.from_s3 || there.etag === b.md5)) {
              pass.skipped++;
              return;
            }
            if ((await copyBack(container, s3, p, b, to(b.name), signal)) === 'changed') {
              pass.skipped++;
              return;
            }
            pass.copied++;
            pass.bytes += b.size;
          } catch (error) {
            failures.push(describeError(error, b.name));
          }
        }),
      ),
    );
    if (p.delete_removed && objects) {
      const kept = new Set(blobs.map((b) => to(b.name)));
      for (const key of objects.keys())
        if (!kept.has(key)) {
          await s3.send(new DeleteObjectCommand({ Bucket: p.destination.bucket, Key: key }), {
            abortSignal: signal,
          });
          pass.deleted++;
        }
    }
    progress?.(
      `${pass.copied} copied back, ${pass.skipped} already there, ${pass.deleted} deleted${since ? ` (${pass.examined} of ${total} blobs written since ${since.listed_at} checked)` : ''}`,
    );
    if (failures.length)
      throw new StepError(
        `${failures.length} of ${blobs.length} blobs failed to copy back (a retry copies only what is missing): ${failures.slice(0, 3).join('; ')}`,
      );
    return { ...pass, mark };
  } finally {
    s3.destroy();
  }
}

export async function syncBack(p: BackSyncParams, ctx: StepContext): Promise<StepResult> {
  let since: BackMark | undefined;
  if (p.since_step) {
    since = await ctx.state.loadOf?.<BackMark>(p.since_step);
    if (!since?.listed_at)
      ctx.progress(`no mark from step ${p.since_step} in this run: a full pass (S3 listed)`);
  }
  const { mark, ...pass } = await backPass(p, ctx.signal, ctx.progress, since?.listed_at ? since : undefined);
  // Saved only once every blob listed is in S3: a later pass (since_step naming this step) trusts it.
  await ctx.state.save(mark);
  const checked =
    pass.mode === 'since'
      ? `${pass.examined} of ${pass.total} blobs written since step ${p.since_step}'s pass checked (S3 not listed)`
      : `${pass.total} blobs`;
  return {
    summary: `Azure Blob ${p.source.container}/${p.source.prefix} → s3://${p.destination.bucket}/${p.destination.prefix}: ${pass.copied} copied (${pass.bytes} bytes), ${pass.skipped} already there, ${pass.deleted} deleted, ${checked}`,
    output: { ...pass },
  };
}

export async function backPreflight(p: BackSyncParams, ctx: PreflightContext): Promise<PreflightCheck[]> {
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const checks: PreflightCheck[] = [];
  try {
    const exists = await containerClient(p.source).exists({ abortSignal: signal });
    checks.push({
      check: 'source container readable',
      ok: exists,
      detail: exists ? p.source.container : `${p.source.container} does not exist`,
    });
  } catch (error) {
    checks.push({
      check: 'source container readable',
      ok: false,
      detail: describeError(error, p.source.container),
    });
  }
  const s3 = s3Client(p.destination);
  try {
    await s3.send(new HeadBucketCommand({ Bucket: p.destination.bucket }), { abortSignal: signal });
    checks.push({ check: 'destination bucket reachable', ok: true, detail: `s3://${p.destination.bucket}` });
  } catch (error) {
    checks.push({
      check: 'destination bucket reachable',
      ok: false,
      detail: describeError(error, `s3://${p.destination.bucket}`),
    });
  } finally {
    s3.destroy();
  }
  return checks;
}
