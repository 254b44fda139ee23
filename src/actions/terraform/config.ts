import { z } from 'zod';

/** `terraform apply` (or OpenTofu) in a directory: bring up or scale the DR infrastructure. */
export const terraformParamsSchema = z
  .object({
    dir: z.string().min(1),
    /** terraform or tofu, on PATH or a full path. */
    binary: z.string().default('terraform'),
    workspace: z.string().optional(),
    vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    var_files: z.array(z.string()).default([]),
    /** Run `init` first (safe to repeat). */
    init: z.boolean().default(true),
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type TerraformParams = z.output<typeof terraformParamsSchema>;
