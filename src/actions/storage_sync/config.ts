import { z } from 'zod';
import { s3LocationSchema } from '../shared/s3.js';

export const azureContainerSchema = z
  .object({
    /**
     * A storage connection string (from ${VAR}); or account_url with account_name and account_key; or
     * account_url alone, signed in through Microsoft Entra ID with DefaultAzureCredential (workload
     * identity on AKS, managed identity, environment, az login), which needs the role Storage Blob
     * Data Contributor on the container.
     */
    connection_string: z.string().optional(),
    account_url: z.string().url().optional(),
    account_name: z.string().optional(),
    account_key: z.string().optional(),
    /** 3-63 characters: lower-case letters, digits and hyphens. */
    container: z
      .string()
      .regex(
        /^[a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9]$/,
        'a container name has 3-63 lower-case letters, digits or hyphens',
      ),
    prefix: z.string().default(''),
    create_container: z.boolean().default(true),
  })
  .strict()
  .refine((d) => d.connection_string || d.account_url, {
    message:
      'give connection_string, or account_url (with account_name and account_key, or alone for DefaultAzureCredential)',
  })
  .refine((d) => Boolean(d.account_name) === Boolean(d.account_key), {
    message:
      'account_name and account_key go together; leave both out to sign in with DefaultAzureCredential',
  });

/** Copy an S3 bucket (or prefix) to an Azure Blob container: incremental, parallel, resumable. */
export const forwardSyncParamsSchema = z
  .object({
    direction: z.literal('s3_to_azure').default('s3_to_azure'),
    source: s3LocationSchema,
    destination: azureContainerSchema,
    /** Objects copied at once. */
    concurrency: z.number().int().min(1).max(256).default(8),
  })
  .strict();

/**
 * The way back (reprotect, failback): copy what the DR site wrote to Azure Blob into the rebuilt
 * primary's S3 bucket. New and changed blobs are copied (compared by the MD5 S3 reports as a simple
 * upload's ETag); `delete_removed` also deletes S3 objects that have no blob.
 */
export const backSyncParamsSchema = z
  .object({
    direction: z.literal('azure_to_s3'),
    source: azureContainerSchema,
    destination: s3LocationSchema,
    concurrency: z.number().int().min(1).max(256).default(8),
    /** Off by default: objects only the old primary holds (written just before the outage) are kept. */
    delete_removed: z.boolean().default(false),
    /**
     * An earlier storage_sync step of the same run (direction azure_to_s3, same container and bucket) that
     * this pass continues: only blobs written since that pass began listing (by their Last-Modified) are
     * checked, each against S3 on its own, and S3 is not listed. For the pass inside a failback's write
     * pause, whose work then follows what changed rather than the bucket's size. It assumes nothing but the
     * way back writes the primary's bucket in between (the primary is fenced). Without that pass's mark
     * (it did not run) this pass is a full one.
     */
    since_step: z.string().min(1).optional(),
  })
  .strict()
  .refine((d) => !(d.since_step && d.delete_removed), {
    message:
      'since_step cannot find deleted blobs (a deleted blob is not listed): leave delete_removed off, or since_step out for a full pass',
  });

export const storageSyncParamsSchema = z.union([forwardSyncParamsSchema, backSyncParamsSchema]);

export type AzureContainer = z.output<typeof azureContainerSchema>;
export type ForwardSyncParams = z.output<typeof forwardSyncParamsSchema>;
export type BackSyncParams = z.output<typeof backSyncParamsSchema>;
export type StorageSyncParams = z.output<typeof storageSyncParamsSchema>;
