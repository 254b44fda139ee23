import { z } from 'zod';

/** Any executable: the Jenkins-style escape hatch for steps CloudPhoenix has no adapter for. */
export const commandParamsSchema = z
  .object({
    /** The program, found on PATH unless it contains a slash. */
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** Exit codes that count as success. */
    success_codes: z.array(z.number().int()).default([0]),
  })
  .strict();

export type CommandParams = z.output<typeof commandParamsSchema>;
