import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { freePort, freePortOn } from '../src/lab/index.js';

test('freePort returns a loopback port that can then be listened on', async () => {
  const port = await freePort();
  assert.ok(port > 0 && port < 65536);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
});

test('freePort never returns a port that is being listened on', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const taken = (server.address() as { port: number }).port;
  try {
    for (let i = 0; i < 20; i++) assert.notEqual(await freePort(), taken);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('freePortOn finds one port free on two loopback addresses', async () => {
  const port = await freePortOn(['127.0.0.2', '127.0.0.3']);
  for (const host of ['127.0.0.2', '127.0.0.3']) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  }
});
