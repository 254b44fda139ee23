import { z } from 'zod';
import {
  decisionSchema,
  durationWithin,
  scoringSchema,
  storeSchema,
  topologySchema,
} from './sections/core.js';
import { probesSchema } from './sections/probes.js';
import { contextSchema, llmSchema } from './sections/context.js';
import { drillsSchema } from './sections/drills.js';
import { runbooksSchema } from './sections/runbooks.js';
import { notificationsSchema, serverSchema } from './sections/server.js';

/** The whole configuration file. Every object is strict so a misspelt key is reported, not ignored. */
export const configSchema = z
  .object({
    /** Probe cycle length. */
    interval: durationWithin(0.1, 86400).optional(),
    topology: topologySchema.optional(),
    scoring: scoringSchema.optional(),
    decision: decisionSchema.optional(),
    probes: probesSchema.optional(),
    context: contextSchema.optional(),
    llm: llmSchema.optional(),
    runbooks: runbooksSchema.optional(),
    drills: drillsSchema.optional(),
    store: storeSchema.optional(),
    server: serverSchema.optional(),
    notifications: notificationsSchema.optional(),
    /** `${aws-sm:...}` / `${azure-kv:...}` references: `phoenix run` reads them again every `refresh` (default 15m). */
    secrets: z
      .object({
        refresh: durationWithin(10, 86400).optional(),
        /**
         * The region of a Secrets Manager secret named without its ARN (an ARN names its own region). Default:
         * topology.primary.region when the primary is on AWS, else topology.dr.region when DR is; never the
         * environment's AWS_REGION.
         */
        aws_region: z
          .string()
          .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region, e.g. us-east-1')
          .optional(),
        /**
         * Regions holding replicas of the Secrets Manager secrets (ReplicateSecretToRegions): a secret is read
         * there, in this order, when its own region does not answer (a restart during that region's outage).
         */
        aws_replica_regions: z
          .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'an AWS region, e.g. us-west-2'))
          .optional(),
        /**
         * The address of a Key Vault from its name, `{vault}` standing for it. Default
         * `https://{vault}.vault.azure.net`; another cloud's (`https://{vault}.vault.azure.cn`,
         * `https://{vault}.vault.usgovcloudapi.net`) or a private endpoint's name.
         */
        key_vault_url: z
          .string()
          .regex(/^https?:\/\/[^\s]*\{vault\}/, 'a URL holding {vault}, e.g. https://{vault}.vault.azure.cn')
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type RawConfig = z.output<typeof configSchema>;
