import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startBind, type BindServer } from '../src/lab/index.js';
import { isRunning } from '../src/lab/process.js';

const run = promisify(execFile);
const baseDir = mkdtempSync(join(tmpdir(), 'phoenix-lab-bind-'));
let server: BindServer | undefined;

after(async () => {
  await server?.stop();
  rmSync(baseDir, { recursive: true, force: true });
});

async function dig(port: number, name: string): Promise<string> {
  const { stdout } = await run('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    name,
    'A',
    '+short',
    '+tries=1',
    '+time=2',
  ]);
  return stdout.trim();
}

function nsupdate(script: string, key: string): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('nsupdate', ['-y', key], (error, stdout, stderr) =>
      error ? reject(new Error(stderr || error.message)) : resolve({ stdout }),
    );
    child.stdin?.end(script);
  });
}

test('BIND serves the zone and applies a TSIG-signed dynamic update, but not one signed with a wrong key', async () => {
  server = await startBind({
    baseDir,
    zone: 'lab.test',
    records: [{ name: 'app', type: 'A', value: '127.0.0.2' }],
  });
  assert.equal(server.tsig.algorithm, 'hmac-sha256');
  assert.equal(await dig(server.port, 'app.lab.test'), '127.0.0.2');

  const update = (key: string) =>
    nsupdate(
      [
        `server 127.0.0.1 ${server!.port}`,
        'zone lab.test',
        'update delete app.lab.test A',
        `update add app.lab.test 5 A ${key ? '127.0.0.3' : '127.0.0.9'}`,
        'send',
        '',
      ].join('\n'),
      key || `hmac-sha256:${server!.tsig.name}:${Buffer.alloc(32).toString('base64')}`,
    );

  await assert.rejects(update(''), /REFUSED|NOTAUTH|BADSIG|tsig/i);
  assert.equal(await dig(server.port, 'app.lab.test'), '127.0.0.2');

  await update(`${server.tsig.algorithm}:${server.tsig.name}:${server.tsig.secret}`);
  assert.equal(await dig(server.port, 'app.lab.test'), '127.0.0.3');

  const pid = server.pid;
  await server.stop();
  await server.stop();
  assert.equal(isRunning(pid), false);
  server = undefined;
});
