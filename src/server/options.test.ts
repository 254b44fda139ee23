import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListenError, parseListen } from './options.js';

test('listen addresses: host:port, [v6]:port, :port and a bare port (loopback by default)', () => {
  assert.deepEqual(parseListen('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
  assert.deepEqual(parseListen('[::1]:9400'), { host: '::1', port: 9400 });
  assert.deepEqual(parseListen(':9400'), { host: '127.0.0.1', port: 9400 });
  assert.deepEqual(parseListen('9400'), { host: '127.0.0.1', port: 9400 });
  assert.deepEqual(parseListen('controller.internal:0'), { host: 'controller.internal', port: 0 });
});

test('a listen address that is not one is refused with the setting named', () => {
  for (const bad of ['1.2.3.4', 'host:99999', 'host:', 'host:port', '::1:80', ''])
    assert.throws(
      () => parseListen(bad, '--listen'),
      (error: unknown) => error instanceof ListenError && error.message.startsWith(`--listen "${bad}"`),
      bad,
    );
});
