import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import type { AzureContainer } from './config.js';

/** Blob metadata holding the source object's ETag (its MD5 for simple uploads): equal size and ETag mean "already copied". */
export const SOURCE_ETAG = 'sourceetag';

export function containerClient(d: AzureContainer): ContainerClient {
  const service = d.connection_string
    ? BlobServiceClient.fromConnectionString(d.connection_string)
    : new BlobServiceClient(
        d.account_url!,
        d.account_key
          ? new StorageSharedKeyCredential(d.account_name!, d.account_key)
          : new DefaultAzureCredential(),
      );
  return service.getContainerClient(d.container);
}

export function describeError(error: unknown, where: string): string {
  const e = error as {
    name?: string;
    message?: string;
    statusCode?: number;
    $metadata?: { httpStatusCode?: number };
  };
  const status = e.statusCode ?? e.$metadata?.httpStatusCode;
  return `${where}: ${status ? `HTTP ${status} ` : ''}${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(error)}`;
}
