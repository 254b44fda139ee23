/**
 * Entry point for the lab's long-running processes: `daemon.js app` (the sample app) and `daemon.js sync`
 * (the object replication loop), configured by LAB_DAEMON_SETTINGS. Each is its own process so that
 * stopping a site in a drill is a real process stop.
 */
import { startApp, type AppSettings } from './app.js';
import { ObjectSync, type ObjectSyncSettings } from './objectsync.js';
import { startFeeds, type FeedSettings } from './feeds.js';

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
  const app = await startApp(settings as AppSettings);
  onStop(() => app.close());
} else if (role === 'sync') {
  const sync = new ObjectSync(settings as ObjectSyncSettings);
  onStop(() => sync.close());
  let lastError = '';
  await sync.run(500, stopping.signal, (pass) => {
    const line =
      pass instanceof Error
        ? { level: 'warn', error: pass.message }
        : { level: 'info', copied: pass.copied, total: pass.total };
    if (pass instanceof Error && pass.message === lastError) return;
    lastError = pass instanceof Error ? pass.message : '';
    if (pass instanceof Error || pass.copied > 0) {
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...line }) + '\n');
    }
  });
} else if (role === 'feeds') {
  const feeds = await startFeeds(settings as FeedSettings);
  onStop(() => feeds.close());
} else {
  process.stderr.write(`unknown lab daemon role: ${role}\n`);
  process.exit(2);
}
