import { z } from 'zod';
import { durationSchema } from '../../config/sections/core.js';
import { drillDeploySchema } from '../shared/drill.js';

/** How to reach a cluster: a kubeconfig (file and context) or a server URL with a bearer token. */
export const clusterSchema = z
  .object({
    /** Path to a kubeconfig; default: $KUBECONFIG or ~/.kube/config. */
    kubeconfig: z.string().optional(),
    context: z.string().optional(),
    /** Instead of a kubeconfig: the API server and a token (from ${VAR}). */
    server: z.string().url().optional(),
    token: z.string().optional(),
    insecure_skip_tls_verify: z.boolean().default(false),
  })
  .strict();

export const kubernetesParamsSchema = z
  .object({
    /** scale: set the replica count; restart: roll the pods (kubectl rollout restart). */
    action: z.enum(['scale', 'restart']),
    namespace: z.string().default('default'),
    deployment: z.string().min(1),
    replicas: z.number().int().min(0).optional(),
    cluster: clusterSchema.default({ insecure_skip_tls_verify: false }),
    /** Wait until the rollout is complete. */
    wait: z.boolean().default(true),
    poll_interval: durationSchema.default(1),
    /** In a drill: where the copy of the deployment goes, and its env var holding the database URL. */
    drill: drillDeploySchema
      .extend({ database_env: z.union([z.string().min(1), z.literal(false)]).default('DATABASE_URL') })
      .optional(),
  })
  .strict()
  .refine((p) => p.action !== 'scale' || p.replicas !== undefined, {
    message: 'a scale step needs replicas (0 to stop the app)',
    path: ['replicas'],
  });

export type ClusterParams = z.output<typeof clusterSchema>;
export type KubernetesParams = z.output<typeof kubernetesParamsSchema>;
