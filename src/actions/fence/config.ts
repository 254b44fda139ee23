import { z } from 'zod';
import { kubernetesParamsSchema } from '../kubernetes/config.js';

/**
 * Stop the old primary taking writes, so no data splits when it comes back, in layers a managed
 * service allows a non-superuser (the RDS master user owns its databases and holds pg_signal_backend).
 */
export const fenceParamsSchema = z
  .object({
    database: z
      .object({
        /** The old primary's application database, as a role that owns it (on RDS: the master user). */
        connection: z.string().min(1),
        /**
         * `alter_database` (default, allowed on RDS and Azure): ALTER DATABASE … SET
         * default_transaction_read_only = on. `alter_system`: ALTER SYSTEM + reload, self-managed
         * PostgreSQL with a superuser only (RDS answers that ALTER SYSTEM is not supported).
         */
        read_only: z.enum(['alter_database', 'alter_system']).default('alter_database'),
        /** End the application's sessions, so none keeps writing in a session opened before. */
        terminate_sessions: z.boolean().default(true),
        /** REVOKE CONNECT on the database from PUBLIC and these roles: new sessions are refused. */
        revoke_connect: z.boolean().default(true),
        /** The application's roles (their sessions are ended, their CONNECT revoked); default: every other role. */
        app_roles: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .optional(),
    /** The old primary's app, scaled to zero replicas. */
    app: kubernetesParamsSchema.optional(),
  })
  .strict()
  .refine((p) => p.database || p.app, { message: 'a fence step needs database, app or both' });

export type FenceParams = z.output<typeof fenceParamsSchema>;
export type FenceDatabaseParams = NonNullable<FenceParams['database']>;
