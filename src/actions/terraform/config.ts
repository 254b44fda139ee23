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
    /**
     * In a drill: the workspace it applies in (default `<workspace>-drill`, never the live one), and
     * vars set on top of `vars` there (names of drill resources that must not clash with the live ones).
     */
    drill: z
      .object({
        workspace: z.string().min(1).optional(),
        vars: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
      })
      .strict()
      .optional(),
  })
  .strict();

export type TerraformParams = z.output<typeof terraformParamsSchema>;
