import { z } from 'zod';

/** Call a webhook, e.g. start a Jenkins job (POST /job/NAME/buildWithParameters). */
export const httpParamsSchema = z
  .object({
    url: z.string().url(),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    headers: z.record(z.string(), z.string()).default({}),
    /** A string is sent as is; a mapping as JSON. `{{run_id}}`, `{{runbook}}`, `{{stage}}`, `{{step}}` are filled in. */
    body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    basic_auth: z.object({ username: z.string(), password: z.string() }).strict().optional(),
    /** Default: any 2xx. */
    expect_status: z.array(z.number().int()).optional(),
    timeout_ms: z.number().int().min(1).default(30_000),
  })
  .strict();

export type HttpParams = z.output<typeof httpParamsSchema>;
