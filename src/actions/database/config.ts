import { z } from 'zod';
import { durationSchema } from '../../config/sections/core.js';
import { s3LocationSchema } from '../shared/s3.js';

/** Promote a streaming standby: the preferred path (replicate continuously, promote at failover). */
export const promoteParamsSchema = z
  .object({
    action: z.literal('promote'),
    /** The DR standby. */
    standby: z.string().min(1),
    /** The old primary, when reachable, to measure the standby's lag exactly. */
    primary: z.string().optional(),
    /** The most lag allowed before promoting; default: topology.dr.rpo_budget_s. */
    max_lag: durationSchema.optional(),
    /** Promote even when the lag exceeds the budget. */
    force: z.boolean().default(false),
    /** How long pg_promote() waits for the promotion to finish. */
    wait: durationSchema.default(60),
  })
  .strict();

/** A cold standby: pg_dump the source to an object store, then pg_restore into the target. */
export const dumpRestoreParamsSchema = z
  .object({
    action: z.literal('dump_restore'),
    source: z.string().min(1),
    target: z.string().min(1),
    /** Where the dump is kept between dump and restore (key under the location's prefix). */
    object_store: s3LocationSchema.extend({ key: z.string().min(1) }).strict(),
    /** Parallel restore jobs. */
    jobs: z.number().int().min(1).max(64).default(2),
    pg_dump: z.string().default('pg_dump'),
    pg_restore: z.string().default('pg_restore'),
  })
  .strict();

export const databaseParamsSchema = z.discriminatedUnion('action', [
  promoteParamsSchema,
  dumpRestoreParamsSchema,
]);

export type PromoteParams = z.output<typeof promoteParamsSchema>;
export type DumpRestoreParams = z.output<typeof dumpRestoreParamsSchema>;
export type DatabaseParams = z.output<typeof databaseParamsSchema>;
