import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
