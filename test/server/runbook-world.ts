import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunbookEngine } from '../../src/runbook/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/index.js';
import { JournalRunControl } from '../../src/server/index.js';
import { serverConfig } from './harness.js';

/** A real runbook engine on a temp SQLite store, with a stage that waits for approval. */
export function runbookWorld(
  server: Record<string, unknown> = {},
  options: { verifyScript?: string; autoApprove?: boolean } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-server-'));
  const marker = join(dir, 'promoted');
  const step = (name: string, script: string) => ({
    name,
    type: 'command',
    params: { command: 'sh', args: ['-c', script] },
  });
  const config = serverConfig(server, {
    store: { path: join(dir, 'phoenix.db') },
    runbooks: {
      dr_failover: {
        stages: [
          { name: 'confirm', steps: [step('check-dr-site', 'sleep 0.2')] },
          { name: 'promote', approval: 'required', steps: [step('promote-db', `touch "${marker}"`)] },
          { name: 'verify', steps: [step('smoke-test', options.verifyScript ?? 'sleep 0.1')] },
        ],
      },
    },
  });
  const db: SqliteDatabase = openDatabase(config.store.path);
  const engine = new RunbookEngine({
    db,
    config,
    pollMs: 50,
    autoApprove: options.autoApprove,
    workDir: join(dir, 'runs'),
  });
  const runs = new JournalRunControl(engine.journal);
  return {
    dir,
    marker,
    config,
    engine,
    runs,
    cleanup() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
