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
    /**
     * What the step does in a drill (`phoenix drill`): `skip`, `run` (the command itself, with
     * PHOENIX_DRILL=1), or a command line run through sh instead. Without it a drill skips the step and
     * `phoenix validate` warns.
     */
    drill: z.union([z.literal('skip'), z.literal('run'), z.string().min(1)]).optional(),
  })
  .strict();

export type CommandParams = z.output<typeof commandParamsSchema>;
