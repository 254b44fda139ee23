/**
 * Entry point for the lab's long-running processes, configured by LAB_DAEMON_SETTINGS: `app` (the sample
 * app), `sync` (object replication S3 → Azure Blob), `s3` (the primary's object store, sending event
 * notifications) and `feeds` (the provider feeds). Each is its own process so that stopping a site in a
 * drill is a real process stop.
 */
// Each role loads only its own modules: four daemons start per lab, and the SDKs they do not use are
// most of their start-up time.
import type { AppSettings } from './app.js';
import type { ObjectSyncSettings } from './objectsync.js';
import type { FeedSettings } from './feeds.js';
import type { S3DaemonSettings } from './objectstores.js';

const role = process.argv[2];
const settings = JSON.parse(process.env.LAB_DAEMON_SETTINGS ?? '{}') as unknown;
const stopping = new AbortController();

function onStop(stop: () => Promise<void> | void): void {
  const handler = () => {
    stopping.abort();
    void Promise.resolve(stop()).finally(() => process.exit(0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

if (role === 'app') {
  const { startApp } = await import('./app.js');
  const app = await startApp(settings as AppSettings);
  onStop(() => app.close());
} else if (role === 'sync') {
  const { ObjectSync } = await import('./objectsync.js');
  const syncSettings = settings as ObjectSyncSettings;
  const sync = new ObjectSync(syncSettings);
  const write = (line: Record<string, unknown>) =>
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...line }) + '\n');
  const receiver =
    syncSettings.notifyPort === undefined
      ? undefined
      : await sync.listen(syncSettings.notifyPort, (copy) =>
          write(
            copy instanceof Error
              ? { level: 'warn', event_copy_failed: copy.message }
              : { level: 'info', event_copy: copy.key, lag_ms: copy.lag_ms },
          ),
        );
  onStop(() => {
    receiver?.closeAllConnections();
    receiver?.close();
    sync.close();
  });
  let lastError = '';
  await sync.run(syncSettings.reconcileMs ?? 500, stopping.signal, (pass) => {
    if (pass instanceof Error && pass.message === lastError) return;
    lastError = pass instanceof Error ? pass.message : '';
    if (pass instanceof Error) write({ level: 'warn', error: pass.message });
    else if (pass.copied > 0) write({ level: 'info', reconciled: pass.copied, total: pass.total });
  });
} else if (role === 's3') {
  const { startS3Server } = await import('./objectstores.js');
  const s3Settings = settings as S3DaemonSettings;
  const server = await startS3Server({
    baseDir: s3Settings.directory,
    port: s3Settings.port,
    buckets: s3Settings.buckets,
    notifyUrl: s3Settings.notifyUrl,
  });
  onStop(() => server.stop());
} else if (role === 'feeds') {
  const { startFeeds } = await import('./feeds.js');
  const feeds = await startFeeds(settings as FeedSettings);
  onStop(() => feeds.close());
} else {
  process.stderr.write(`unknown lab daemon role: ${role}\n`);
  process.exit(2);
}
