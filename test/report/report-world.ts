import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { createRunbookDecisionSink, type RunEvent } from '../../src/runbook/index.js';
import { HistoryStore, openDatabase } from '../../src/store/index.js';
import { DecisionLoop, snapshot } from '../server/harness.js';

const step = (name: string, script: string, extra: Record<string, unknown> = {}) => ({
  name,
  type: 'command',
  params: { command: 'sh', args: ['-c', script] },
  ...extra,
});

/** A configuration file with a three-stage DR runbook: an approval gate and a step that may fail. */
export function reportConfig(dir: string, extra: Record<string, unknown> = {}) {
  const file = join(dir, 'phoenix.yaml');
  const document = {
    store: { path: join(dir, 'phoenix.db') },
    topology: {
      primary: { cloud: 'aws', region: 'eu-west-1' },
      dr: { cloud: 'azure', region: 'westeurope', rpo_budget_s: 60 },
    },
    runbooks: {
      dr_failover: {
        stages: [
          { name: 'confirm-dr-site', steps: [step('check-dr-site', 'true')] },
          { name: 'promote', approval: 'required', steps: [step('promote-db', `touch "${dir}/promoted"`)] },
          {
            name: 'verify',
            steps: [
              step('smoke-test', 'true'),
              step('status-page', 'echo "status page <down>" >&2; exit 3', { continue_on_error: true }),
            ],
          },
        ],
      },
    },
    ...extra,
  };
  writeFileSync(file, stringify(document));
  return { file, config: loadConfig(file) };
}

/**
 * A real incident in a temp store: the decision core sees the primary cloud fail, its decision
 * starts dr_failover through the controller's sink, an operator approves the gate, and a
 * continue_on_error step fails on the way.
 */
export async function incidentRun(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-report-'));
  const { file, config } = reportConfig(dir, extra);
  const db = openDatabase(config.store.path);
  const history = new HistoryStore(db);
  const loop = new DecisionLoop(config, Math.floor(Date.now() / 1000) - 20 * 30);
  loop.events.on('cycle', (record) => history.record({ duration_ms: 1, ...record }));
  let approve: (runId: string) => void = () => undefined;
  const sink = createRunbookDecisionSink({
    db,
    config,
    pollMs: 20,
    workDir: join(dir, 'runs'),
    onEvent: (event: RunEvent) => {
      if (event.type === 'approval' && event.status === 'waiting') approve(event.runId);
    },
  });
  approve = (runId) => sink.engine.journal.approve(runId, 'alice (on-call)');
  const outage = {
    eks_nodes: 'error',
    internal_services: 'error',
    cross_cloud: 'error',
    aws_cross_region: 'error',
    external_uptime: 'error',
  } as const;
  for (let i = 0; i < 20; i++, loop.clock += 30) {
    if (i === 8) loop.next = snapshot(outage);
    const record = await loop.cycle();
    const outcome = await sink.onDecision(record.decision);
    if (outcome.kind === 'started') {
      await outcome.handle.done;
      return {
        dir,
        file,
        config,
        db,
        runId: outcome.handle.runId,
        decision: record.decision,
        cleanup: () => {
          db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  }
  throw new Error(
    `the decision core never started dr_failover; last decision: ${JSON.stringify(loop.recent.latest?.()?.decision ?? null)}`,
  );
}
