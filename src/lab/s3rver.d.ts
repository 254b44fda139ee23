declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    directory: string;
    silent?: boolean;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }
  /** An S3 event notification as S3 sends it to SQS, SNS or Lambda; s3rver emits one per change. */
  export interface S3EventNotification {
    Records: Array<{
      eventName: string;
      eventTime: string;
      s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string } };
    }>;
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: S3EventNotification) => void): this;
  }
}
