import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ChangeStore } from '../src/context/index.js';
import type { ChangeRecord } from '../src/core/index.js';
import { startServer, type RunningServer } from '../src/server/index.js';
import { SqliteSql } from '../src/store/index.js';
import { DecisionLoop, OPERATE_TOKEN, serverConfig } from './server/harness.js';
import { runCli } from './helpers/paths.js';
import { needTool } from './helpers/tools.js';

/**
 * A SQLite store on a full filesystem (a small tmpfs, mounted here as root): every write that
 * answered success must be on disk, and the ones that could not be written must say so.
 */
function mountSmallTmpfs(dir: string): string | false {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=384k', 'tmpfs', dir], { stdio: 'pipe' });
    return false;
  } catch (error) {
    const reason = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    return needTool(true, `a tmpfs to fill (mount -t tmpfs: ${reason})`, 'run the test as root');
  }
}

describe('the SQLite store on a full disk', () => {
  const mountDir = mkdtempSync(join(tmpdir(), 'phoenix-full-disk-'));
  const skip = mountSmallTmpfs(mountDir);
  const dbPath = join(mountDir, 'phoenix.db');
  const configDir = mkdtempSync(join(tmpdir(), 'phoenix-full-disk-config-'));
  let db: SqliteSql;
  let server: RunningServer;
  // The API's rate limit is raised: this test writes until the disk is full.
  const config = serverConfig({ rate_limit: { max: 10_000 } });
  const loop = new DecisionLoop(config);

  before(async () => {
    if (skip) return;
    db = SqliteSql.open(dbPath);
    const changes = ChangeStore.on(db);
    await loop.cycle();
    server = await startServer({
      config,
      deps: {
        status: loop.recent,
        trigger: loop,
        now: loop.now,
        changes: { record: (change: ChangeRecord) => changes.record({ ...change, source: 'api' }) },
        store: db,
      },
      listen: { host: '127.0.0.1', port: 0 },
      processMetrics: false,
    });
  });

  after(async () => {
    await server?.close();
    await db?.close();
    if (!skip) execFileSync('umount', [mountDir]);
    rmSync(mountDir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  test(
    'no change is acknowledged unless stored: the API answers 503 with the reason, phoenix change exits non-zero, /readyz is not ready',
    { skip },
    async () => {
      const post = (i: number) =>
        fetch(`${server.url}/api/changes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OPERATE_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            kind: 'deploy',
            service: 'checkout',
            description: `release ${i} ${'x'.repeat(1900)}`,
          }),
        });
      const acknowledged: number[] = [];
      let refusal: { status: number; body: { error: string } } | undefined;
      // 384 KiB hold fewer than 200 changes of 2 KB: the disk fills well before the loop ends.
      for (let i = 0; i < 400 && !refusal; i++) {
        const answer = await post(i);
        if (answer.status === 201) acknowledged.push(i);
        else refusal = { status: answer.status, body: (await answer.json()) as { error: string } };
      }
      // Every acknowledged change is on disk, read back by a separate connection.
      const check = new Database(dbPath, { readonly: true });
      try {
        const stored = new Set(
          (
            check.prepare('SELECT description FROM context_changes').all() as Array<{ description: string }>
          ).map((row) => Number(/^release (\d+)/.exec(row.description)?.[1])),
        );
        const lost = acknowledged.filter((i) => !stored.has(i));
        assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged changes were lost`);
        assert.ok(acknowledged.length > 10, `only ${acknowledged.length} changes fit`);
      } finally {
        check.close();
      }
      assert.ok(refusal, 'the disk never filled');
      assert.equal(refusal.status, 503, JSON.stringify(refusal.body));
      assert.match(refusal.body.error, /full/i);

      const ready = await fetch(`${server.url}/readyz`);
      const readiness = (await ready.json()) as { ready: boolean; reasons: string[] };
      assert.equal(ready.status, 503);
      assert.equal(readiness.ready, false);
      assert.ok(
        readiness.reasons.some((r) => /store/.test(r) && /full/i.test(r)),
        readiness.reasons.join('; '),
      );

      const configFile = join(configDir, 'phoenix.yaml');
      writeFileSync(
        configFile,
        `topology:\n  primary: { cloud: aws, region: us-east-1 }\n  dr: { cloud: azure, region: eastus2 }\nstore: { path: ${dbPath} }\n`,
      );
      const cli = await runCli([
        'change',
        '--config',
        configFile,
        '--kind',
        'deploy',
        '--description',
        `cli ${'y'.repeat(4000)}`,
      ]);
      assert.notEqual(cli.code, 0, cli.stdout);
      assert.doesNotMatch(cli.stdout, /recorded change/);
      assert.match(cli.stderr, /full/i);
    },
  );
});
