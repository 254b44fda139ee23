import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, type BindServer } from '../src/lab/index.js';
import { startCachingResolver, type CachingResolver } from '../src/lab/resolver.js';
import { cachePhaseWaitMs, cacheRefills, clientDnsLag } from '../src/lab/scenarios/failback.js';

// Why the failback drill starts at a random point of the clients' cache period (scenarios/failback.ts):
// unbound, asked often, refetches a name on a fixed grid of whole seconds TTL + 1 apart, so a DNS switch
// made a fixed time after some other periodic event always meets the cache at the same point.

const TTL = 5;
const baseDir = mkdtempSync(join(tmpdir(), 'phoenix-client-dns-cache-'));
let bind: BindServer | undefined;
let unbound: CachingResolver | undefined;

after(async () => {
  await unbound?.stop();
  await bind?.stop();
  rmSync(baseDir, { recursive: true, force: true });
});

type Lookup = { at: number; address?: string; ttl?: number };

/** A client asking the caching resolver every `everyMs` until stopped, as the drill's writer does. */
function askContinuously(port: number, everyMs: number) {
  const lookups: Lookup[] = [];
  let stopped = false;
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const loop = (async () => {
    while (!stopped) {
      const answer = await resolver.resolve4('app.lab.test', { ttl: true }).catch(() => []);
      // Epoch ms: unbound's clock is whole Unix seconds, and so is its cache's expiry.
      lookups.push({ at: Date.now(), address: answer[0]?.address, ttl: answer[0]?.ttl });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    lookups,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** Resolves once `test` holds for the lookups seen so far (polled on the client's own rhythm). */
async function until(lookups: Lookup[], test: (l: Lookup[]) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!test(lookups)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function nsupdate(server: BindServer, address: string): Promise<void> {
  const key = `${server.tsig.algorithm}:${server.tsig.name}:${server.tsig.secret}`;
  return new Promise((resolve, reject) => {
    const child = execFile('nsupdate', ['-y', key], (error, _stdout, stderr) =>
      error ? reject(new Error(stderr || error.message)) : resolve(),
    );
    child.stdin?.end(
      [
        `server 127.0.0.1 ${server.port}`,
        'zone lab.test',
        'update delete app.lab.test A',
        `update add app.lab.test ${TTL} A ${address}`,
        'send',
        '',
      ].join('\n'),
    );
  });
}

test("the clients' resolver refetches a name it is asked often every TTL + 1 whole seconds, and a switch just after a refetch reaches the client a whole period late", async () => {
  bind = await startBind({
    baseDir: join(baseDir, 'bind'),
    zone: 'lab.test',
    records: [{ name: 'app', type: 'A', value: '127.0.0.2', ttl: TTL }],
  });
  unbound = await startCachingResolver({
    baseDir: join(baseDir, 'unbound'),
    zone: 'lab.test',
    authoritativePort: bind.port,
    probe: 'app.lab.test',
  });
  const client = askContinuously(unbound.port, 200);
  try {
    // A refetch: an answer with the whole TTL left after one with less.
    const refills = () =>
      client.lookups.filter((l, i) => l.ttl === TTL && i > 0 && client.lookups[i - 1].ttl !== TTL);
    await until(client.lookups, () => refills().length >= 3, 'three refetches');
    // Whole seconds of unbound's clock: each refetch comes TTL + 1 s after the previous one's second.
    const seconds = refills().map((l) => Math.floor(l.at / 1000));
    assert.deepEqual(
      seconds.slice(1, 3).map((s, i) => s - seconds[i]),
      [TTL + 1, TTL + 1],
      `refetches at ${refills()
        .map((l) => l.at)
        .join(', ')} ms`,
    );
    // Some lookups are answered with TTL 0: the entry lives through the second its TTL runs out.
    assert.ok(client.lookups.some((l) => l.ttl === 0));

    // The switch right after a refetch: the worst point of the period.
    const seen = client.lookups.length;
    await until(client.lookups, (l) => l.slice(seen).some((x) => x.ttl === TTL), 'the next refetch');
    const fetchedAt = client.lookups.slice(seen).find((x) => x.ttl === TTL)!.at;
    await nsupdate(bind, '127.0.0.3');
    const switchedAt = Date.now();
    await until(client.lookups, (l) => l.some((x) => x.address === '127.0.0.3'), 'the new answer');
    const firstNew = client.lookups.find((x) => x.address === '127.0.0.3')!;
    // Not before the entry fetched before the switch expired (its second + TTL + 1) …
    assert.ok(
      Math.floor(firstNew.at / 1000) >= Math.floor(fetchedAt / 1000) + TTL + 1,
      `new answer at ${firstNew.at}, entry fetched at ${fetchedAt}`,
    );
    // … and the old answer was served after BIND had the new one.
    assert.ok(client.lookups.some((x) => x.at > switchedAt && x.address === '127.0.0.2'));
    const lag = clientDnsLag(client.lookups, switchedAt, switchedAt, '127.0.0.3');
    assert.ok(lag !== null && lag >= TTL - 1, `client lag ${lag} s`);
  } finally {
    await client.stop();
  }
});

test('the failback start wait covers one whole period of the cache (0 to TTL + 1 s)', () => {
  assert.equal(
    cachePhaseWaitMs(TTL, () => 0),
    0,
  );
  assert.equal(
    cachePhaseWaitMs(TTL, () => 0.5),
    3000,
  );
  assert.ok(cachePhaseWaitMs(TTL, () => 0.9999) < (TTL + 1) * 1000);
  assert.ok(cachePhaseWaitMs(TTL, () => 0.9999) > TTL * 1000);
});

test('the client DNS lag runs from BIND answering the new address to the first client lookup that did, never below 0', () => {
  const lookups = [
    { at: 1000, address: 'dr', ttl: 5 },
    { at: 2000, address: 'dr', ttl: 4 },
    { at: 3000, address: 'dr', ttl: 3 },
    { at: 7100, address: 'primary', ttl: 5 },
    { at: 8000, address: 'primary', ttl: 4 },
  ];
  assert.equal(clientDnsLag(lookups, 2400, 2500, 'primary'), 4.6);
  assert.equal(clientDnsLag(lookups, 2400, 2500, 'nowhere'), null);
  // BIND's answer seen late (its poll also waits for the app): the client had it first, so no lag.
  assert.equal(clientDnsLag(lookups, 7000, 7500, 'primary'), 0);
  // A lookup before the update was sent cannot be the switch (the address served before the failover).
  const back = [{ at: 500, address: 'primary', ttl: 2 }, ...lookups];
  assert.equal(clientDnsLag(back, 2400, 2500, 'primary'), 4.6);
  assert.deepEqual(cacheRefills(lookups, 5, 0, 0, 10_000), [1, 7.1]);
});
