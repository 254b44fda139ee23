import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { FakeAwsHealthServer } from '../stand-ins/aws/health.js';
import { FakeStatuspageServer } from '../stand-ins/statuspage/status-page.js';
import { FakeEc2 } from '../stand-ins/aws/ec2.js';
import { FakeLokiServer, type FakeLogLine } from '../stand-ins/loki/query-range.js';

/** Where the lab's provider feeds listen; the drill changes what they say through `/_admin/state`. */
export interface FeedUrls {
  awsHealth: string;
  cloudflare: string;
  azureStatus: string;
  ec2: string;
  loki: string;
}

export interface FeedSettings {
  urlsFile: string;
  region: string;
  ec2AccessKeyId: string;
  /** App log files shipped into the Loki feed, by site. */
  appLogs: Record<string, string>;
}

/** Follows JSON-lines log files from where they end now, like a log shipper, and hands new lines on. */
class LogFollower {
  private readonly offsets = new Map<string, number>();
  constructor(private readonly files: Record<string, string>) {
    for (const file of Object.values(files))
      this.offsets.set(file, existsSync(file) ? statSync(file).size : 0);
  }

  read(): FakeLogLine[] {
    const lines: FakeLogLine[] = [];
    for (const [site, file] of Object.entries(this.files)) {
      if (!existsSync(file)) continue;
      const size = statSync(file).size;
      let offset = this.offsets.get(file) ?? 0;
      if (size < offset) offset = 0;
      if (size === offset) continue;
      const fd = openSync(file, 'r');
      const buffer = Buffer.alloc(size - offset);
      readSync(fd, buffer, 0, buffer.length, offset);
      closeSync(fd);
      const text = buffer.toString('utf8');
      const end = text.lastIndexOf('\n') + 1;
      this.offsets.set(file, offset + Buffer.byteLength(text.slice(0, end)));
      for (const raw of text.slice(0, end).split('\n')) {
        if (!raw.trim()) continue;
        let level = 'info';
        let at = Date.now() / 1000;
        let line = raw;
        try {
          const entry = JSON.parse(raw) as {
            level?: string;
            time?: string;
            error?: string;
            stack?: string;
            msg?: string;
          };
          level = entry.level ?? level;
          at = entry.time ? Date.parse(entry.time) / 1000 : at;
          line = entry.stack ?? entry.error ?? entry.msg ?? raw;
        } catch {
          /* a plain text line */
        }
        lines.push({ at, labels: { service: 'app', site, level }, line });
      }
    }
    return lines;
  }
}

export async function startFeeds(
  settings: FeedSettings,
): Promise<{ urls: FeedUrls; close(): Promise<void> }> {
  // Signed requests only, with the lab's key: a controller without credentials gets no Health feed.
  const awsHealth = await new FakeAwsHealthServer(settings.ec2AccessKeyId).start();
  const cloudflare = await new FakeStatuspageServer('Cloudflare').start();
  const azureStatus = await new FakeStatuspageServer('Azure').start();
  const ec2 = await FakeEc2.start(settings.ec2AccessKeyId, { region: settings.region });
  const loki = await new FakeLokiServer().start();
  const follower = new LogFollower(settings.appLogs);
  const shipper = setInterval(() => {
    const lines = follower.read();
    if (lines.length) loki.setState({ lines: [...loki.state.lines, ...lines].slice(-5000) });
  }, 1000);
  const urls: FeedUrls = {
    awsHealth: awsHealth.url,
    cloudflare: cloudflare.url,
    azureStatus: azureStatus.url,
    ec2: ec2.url,
    loki: loki.url,
  };
  writeFileSync(`${settings.urlsFile}.tmp`, JSON.stringify(urls));
  renameSync(`${settings.urlsFile}.tmp`, settings.urlsFile);
  return {
    urls,
    async close() {
      clearInterval(shipper);
      await Promise.allSettled([
        awsHealth.close(),
        cloudflare.close(),
        azureStatus.close(),
        ec2.close(),
        loki.close(),
      ]);
    },
  };
}

/** Replaces part of a feed's state, as the drill does while it runs. */
export async function setFeedState(url: string, state: unknown): Promise<void> {
  // The lab setting its own stand-in, not a path any figure measures: at load 25-30 on 2 cores the feeds'
  // process answered after more than 5 s and the drill died with a bare "aborted due to timeout".
  const timeoutS = 30;
  const res = await fetch(`${url}/_admin/state`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(state),
    signal: AbortSignal.timeout(timeoutS * 1000),
  }).catch((error: Error) => {
    throw new Error(
      `the lab feed at ${url} did not take the new state (${error.name === 'TimeoutError' ? `no answer within ${timeoutS} s: is the machine overloaded?` : error.message})`,
    );
  });
  if (!res.ok)
    throw new Error(`the lab feed at ${url} refused the new state: HTTP ${res.status} ${await res.text()}`);
}
