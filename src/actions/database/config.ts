import { z } from 'zod';
import { durationSchema } from '../../config/sections/core.js';
import { s3LocationSchema } from '../shared/s3.js';

/**
 * How a drill rehearses this step: on a scratch copy of the DR database, on a server where it may create
 * one (default: the writable DR server itself; a streaming standby is read-only, so it needs one).
 */
export const databaseDrillSchema = z
  .object({
    /** A postgresql:// URL on the server that holds the scratch copy; its role needs CREATEDB. */
    scratch_server: z.string().min(1).optional(),
    pg_dump: z.string().default('pg_dump'),
    pg_restore: z.string().default('pg_restore'),
  })
  .strict();

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
    drill: databaseDrillSchema.optional(),
  })
  .strict();

/**
 * Cut a logical subscriber over (RDS → Azure Flexible Server): measure what it has, disable its
 * subscription, advance its sequences past anything the publisher may have handed out, open it for writes.
 */
export const cutoverParamsSchema = z
  .object({
    action: z.literal('cutover'),
    /** The DR database (the subscriber), as a role that owns the subscription and the tables. */
    subscriber: z.string().min(1),
    /** The publisher, when reachable, to measure exactly what the subscriber lacks. */
    publisher: z.string().optional(),
    /**
     * Where ALTER SUBSCRIPTION … DISABLE runs when the subscriber role does not own the subscription.
     * PostgreSQL 15 and older require a subscription's owner to be a superuser; from 16 a member of
     * pg_create_subscription owns its own, and on Azure Flexible Server the admin manages them.
     */
    subscription_owner: z.string().optional(),
    /** The subscription to cut over; default: the only one in the subscriber's database. */
    subscription: z.string().optional(),
    /** The most data at risk allowed; default: topology.dr.rpo_budget_s. */
    max_lag: durationSchema.optional(),
    /** With the publisher reachable, how long to wait for the subscriber to confirm everything. */
    catch_up: durationSchema.default(10),
    /**
     * The publisher does not answer, so the data at risk cannot be known: `refuse` stops the step,
     * `proceed` goes on and reports it as unknown. Always recorded; never read as zero.
     */
    on_unknown_lag: z.enum(['refuse', 'proceed']).default('refuse'),
    /** Cut over even when the data at risk exceeds the budget. */
    force: z.boolean().default(false),
    /**
     * A planned switchover (failback): refuse unless the subscriber has confirmed the publisher's WAL
     * position taken after the fence, checked by LSN, whatever the budget; `force` does not override it.
     */
    require_caught_up: z.boolean().default(false),
    /**
     * Each sequence is set to the highest of its own value (kept current by the sequence sync), the
     * data's maximum and, plus this gap: room for the ids the publisher handed out to rows that never
     * arrived, so rows written on DR never collide with them when they are reconciled. Size it as write
     * rate × the largest data at risk accepted.
     */
    sequence_gap: z.number().int().min(0).default(100_000),
    /** End the application's sessions so they reconnect to a writable database. */
    terminate_sessions: z.boolean().default(true),
    drill: databaseDrillSchema.optional(),
  })
  .strict();

/** Promote an Azure Flexible Server read replica through the Azure Resource Manager API. */
export const azurePromoteParamsSchema = z
  .object({
    action: z.literal('azure_promote'),
    subscription_id: z.string().min(1),
    resource_group: z.string().min(1),
    /** The read replica to promote. */
    server: z.string().min(1),
    /** standalone: the replica leaves the replication set; switchover: it swaps roles with the primary. */
    promote_mode: z.enum(['standalone', 'switchover']).default('standalone'),
    /** planned waits for the replica to catch up (needs the primary); forced promotes at once (DR). */
    promote_option: z.enum(['planned', 'forced']).default('forced'),
    /** Default: DefaultAzureCredential (workload identity, managed identity, environment, az login). */
    access_token: z.string().optional(),
    /** A PEM file of extra CAs to trust (a TLS-inspecting proxy). */
    ca_file: z.string().optional(),
    /** The Resource Manager endpoint (sovereign clouds). */
    endpoint: z.string().url().default('https://management.azure.com'),
    /** How often to poll the long-running operation, in seconds. */
    poll_interval: durationSchema.default(5),
    /** In a drill: a point-in-time restore of `server` into a scratch server, deleted afterwards. */
    drill: z
      .object({
        /** The scratch server's name; default `<server>-<drill tag>` (cut to ARM's 63 characters). */
        scratch_server: z
          .string()
          .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'lower-case letters, digits and hyphens, 3-63 long')
          .optional(),
        /** How far before now the restore point lies: Azure's latest restore point trails by minutes. */
        restore_lag: durationSchema.default(600),
        /**
         * The admin's connection string to the restored server's source (a point-in-time copy keeps its
         * admin login and password): the drill connects to the copy with it, host replaced by the copy's,
         * and detaches every subscription it holds (DISABLE, slot_name = NONE) before anything else, so
         * the copy never consumes from the production publisher's slots. Without it the step is not
         * rehearsed.
         */
        admin_url: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/**
 * Reverse (or restore) logical replication after a cut-over: the database serving now publishes, the
 * other one (the rebuilt old primary, or the DR database again after a failback) subscribes, with an
 * initial copy and then streaming changes. Every phase checks what the databases hold, so a re-run after
 * a crash resumes where the last one stopped and never copies a row twice.
 */
export const reprotectParamsSchema = z
  .object({
    action: z.literal('reprotect'),
    /** The database serving now (after a failover: DR), as a role that owns its tables. */
    publisher: z.string().min(1),
    /**
     * How the subscriber's apply worker reaches the publisher (a libpq conninfo or URL, stored in
     * pg_subscription); default: `publisher`. Its role needs REPLICATION (Azure: ALTER ROLE … WITH
     * REPLICATION; RDS: rds_replication) and SELECT on the tables.
     */
    publisher_conninfo: z.string().optional(),
    /** Where the retired subscription is dropped when the publisher role does not own it (PG ≤ 15: a superuser). */
    publisher_owner: z.string().optional(),
    /** The database to protect with (the rebuilt old primary), as a role that owns its tables. */
    subscriber: z.string().min(1),
    /** Where CREATE SUBSCRIPTION runs when the subscriber role may not own one (PG ≤ 15: a superuser). */
    subscriber_owner: z.string().optional(),
    publication: z.string().min(1).default('phoenix_failback'),
    subscription: z.string().min(1).default('phoenix_failback'),
    /**
     * The subscription that replicated the other way, on the publisher (disabled by the cut-over): it is
     * dropped, and its slot on the subscriber's side too, so the old primary stops keeping WAL for it.
     * Refused while it is still enabled: that database has not been cut over.
     */
    retire_subscription: z.string().optional(),
    /** The schemas whose tables are replicated. */
    schemas: z.array(z.string().min(1)).min(1).default(['public']),
    /**
     * Before its tables are emptied for the initial copy, the subscriber's rows are kept in a schema
     * `phoenix_before_<subscription>_<time>`: rows the old primary acknowledged that never reached DR.
     */
    keep_old_rows: z.boolean().default(true),
    /** The application's roles: their sessions on the subscriber are ended and CONNECT granted back. */
    app_roles: z.array(z.string().min(1)).default([]),
    /** How long to wait for the initial copy to finish and streaming to start. */
    wait: durationSchema.default(600),
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
    drill: databaseDrillSchema.optional(),
  })
  .strict();

export const databaseParamsSchema = z.discriminatedUnion('action', [
  promoteParamsSchema,
  cutoverParamsSchema,
  azurePromoteParamsSchema,
  dumpRestoreParamsSchema,
  reprotectParamsSchema,
]);

export type PromoteParams = z.output<typeof promoteParamsSchema>;
export type CutoverParams = z.output<typeof cutoverParamsSchema>;
export type AzurePromoteParams = z.output<typeof azurePromoteParamsSchema>;
export type ReprotectParams = z.output<typeof reprotectParamsSchema>;
export type DatabaseDrillParams = z.output<typeof databaseDrillSchema>;
export type DumpRestoreParams = z.output<typeof dumpRestoreParamsSchema>;
export type DatabaseParams = z.output<typeof databaseParamsSchema>;
