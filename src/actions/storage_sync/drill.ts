import { drillTag } from '../shared/drill.js';
import type { StepDrill } from '../types.js';
import type { StorageSyncParams } from './config.js';
import { containerClient, storageSyncAdapter } from './storage_sync.js';

/** Where a drill copies to: a prefix of the destination container named for the run, never the live prefix. */
export function drillPrefix(p: StorageSyncParams, runId: string): string {
  return `phoenix-drill/${drillTag(runId)}/${p.destination.prefix}`;
}

/** Copies into a drill prefix of the destination container; the cleanup deletes that prefix and lists it empty. */
export const storageSyncDrill: StepDrill<StorageSyncParams> = {
  describe: (p) =>
    `sync s3://${p.source.bucket}/${p.source.prefix} → ${p.destination.container}/phoenix-drill/<run>/${p.destination.prefix}`,
  async rehearse(p, ctx) {
    const prefix = drillPrefix(p, ctx.runId);
    // The container itself is production's: a drill never creates one it would then have to delete.
    const result = await storageSyncAdapter.run(
      { ...p, destination: { ...p.destination, prefix, create_container: false } },
      ctx,
    );
    return {
      ...result,
      summary: `drill: ${result.summary}`,
      output: { ...result.output, drill_prefix: prefix },
    };
  },
  async cleanup(p, ctx) {
    const prefix = drillPrefix(p, ctx.runId);
    const container = containerClient(p.destination);
    if (!(await container.exists({ abortSignal: ctx.signal })))
      return { summary: `${p.destination.container} does not exist: nothing to remove`, left: [] };
    let deleted = 0;
    for await (const blob of container.listBlobsFlat({ prefix, abortSignal: ctx.signal })) {
      await container.deleteBlob(blob.name, { deleteSnapshots: 'include', abortSignal: ctx.signal });
      deleted += 1;
    }
    const left: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix, abortSignal: ctx.signal }))
      left.push(`blob ${p.destination.container}/${blob.name}`);
    return { summary: `deleted ${deleted} blobs under ${p.destination.container}/${prefix}`, left };
  },
};
