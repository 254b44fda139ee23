import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { migrate, openDatabase } from './sqlite.js';

test('migrations apply once each and survive reopening the file', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'phoenix-store-')), 'nested', 'phoenix.db');
  const migrations = [{ name: 'demo/1', sql: 'CREATE TABLE demo (id INTEGER PRIMARY KEY, v TEXT)' }];
  const first = openDatabase(path);
  migrate(first, migrations);
  first.prepare('INSERT INTO demo (v) VALUES (?)').run('kept');
  first.close();
  const second = openDatabase(path);
  migrate(second, migrations);
  assert.deepEqual(second.prepare('SELECT v FROM demo').all(), [{ v: 'kept' }]);
  second.close();
});

test('an unusable store path is reported with the fix', () => {
  // A directory cannot be created under a regular file.
  const file = join(mkdtempSync(join(tmpdir(), 'phoenix-store-')), 'plain-file');
  openDatabase(file).close();
  assert.throws(() => openDatabase(join(file, 'x.db')), /ENOTDIR|cannot open the store/);
});

test('controllers opening one new store file at once apply each migration once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-store-'));
  const path = join(dir, 'phoenix.db');
  // Each process opens the file, says it is ready, and migrates when the test says go, so all of
  // them check what is applied at the same instant, as three controllers started together do.
  const script = join(dir, 'migrate.mjs');
  writeFileSync(
    script,
    `import { migrate, openDatabase } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'sqlite.ts')).href)};
import { createInterface } from 'node:readline';
const db = openDatabase(process.argv[2]);
const migrations = Array.from({ length: 8 }, (_, i) => ({ name: 'race/' + i, sql: 'CREATE TABLE race_' + i + ' (id INTEGER)' }));
console.log('ready');
for await (const _ of createInterface({ input: process.stdin })) {
  try { migrate(db, migrations); console.log('ok'); } catch (error) { console.log('failed: ' + error.message); }
  break;
}
db.close();
process.exit(0);
`,
  );
  const children: ChildProcess[] = [];
  const answers: Array<Promise<string>> = [];
  for (let i = 0; i < 4; i += 1) {
    const child = spawn(process.execPath, ['--import', 'tsx', script, path], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const ready = await lines.next();
    assert.equal(ready.value, 'ready');
    answers.push(lines.next().then((line) => String(line.value)));
  }
  for (const child of children) child.stdin!.end('go\n');
  assert.deepEqual(await Promise.all(answers), ['ok', 'ok', 'ok', 'ok']);
  await Promise.all(children.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)));
  const db = openDatabase(path);
  const names = db.prepare("SELECT name FROM schema_migrations WHERE name LIKE 'race/%'").all();
  db.close();
  assert.equal(names.length, 8, 'each migration recorded once');
});
