import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';

/** Where an S3 (or S3-compatible) bucket lives and how to sign for it. */
export const s3LocationSchema = z
  .object({
    bucket: z.string().min(1),
    prefix: z.string().default(''),
    region: z.string().default('us-east-1'),
    /** For S3-compatible servers and tests; AWS itself needs none. */
    endpoint: z.string().url().optional(),
    force_path_style: z.boolean().default(false),
    /** Absent: the SDK's default chain (environment, profile, instance role). */
    access_key_id: z.string().optional(),
    secret_access_key: z.string().optional(),
  })
  .strict();

export type S3Location = z.output<typeof s3LocationSchema>;

export function s3Client(location: S3Location): S3Client {
  return new S3Client({
    region: location.region,
    endpoint: location.endpoint,
    forcePathStyle: location.force_path_style || Boolean(location.endpoint),
    credentials:
      location.access_key_id && location.secret_access_key
        ? { accessKeyId: location.access_key_id, secretAccessKey: location.secret_access_key }
        : undefined,
    maxAttempts: 3,
    // Plain signed uploads: S3-compatible servers do not all speak aws-chunked trailing checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
