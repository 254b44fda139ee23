import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLabState, waitUntil } from '../src/lab/index.js';
import { runCli, startPhoenix, type PhoenixProcess } from './helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'phoenix-hands-on-'));
const dir = join(root, 'lab');
let controller: PhoenixProcess | undefined;

after(async () => {
  await controller?.stop();
  await runCli(['lab', 'down', '--dir', dir]);
  rmSync(root, { recursive: true, force: true });
});

interface Status {
  latest: { level: string; score: number; decision: { action: string; reason: string } } | null;
}

test('lab up prints the tour; with its controller running, fault regional-outage forms a DR decision on /api/status and heal brings it back to none', async () => {
  const up = await runCli(['lab', 'up', '--dir', dir], { timeoutMs: 180_000 });
  assert.equal(up.code, 0, up.stderr);
  const state = readLabState(dir)!;
  assert.ok(state.configFile && state.dashboardPort);
  assert.match(up.stdout, new RegExp(`phoenix run --config ${state.configFile}`));
  assert.match(up.stdout, /phoenix lab fault regional-outage --dir /);
  const url = `http://127.0.0.1:${state.dashboardPort}`;
  assert.match(up.stdout, new RegExp(`Open the dashboard: ${url}/`));

  controller = startPhoenix(['run', '--config', state.configFile!, '--log-format', 'json']);
  const status = async (): Promise<Status> => (await (await fetch(`${url}/api/status`)).json()) as Status;
  const seen: string[] = [];
  const until = async (test: (s: Status) => boolean, what: string, ms: number) =>
    controller!.waitFor(
      async () => {
        const s = await status().catch(() => undefined);
        if (s?.latest) seen.push(`${s.latest.level}/${s.latest.decision.action}`);
        return Boolean(s && test(s));
      },
      `${what} (seen: ${seen.slice(-6).join(', ')})`,
      ms,
    );
  await until((s) => s.latest?.level === 'none', 'a healthy first cycle', 120_000);
  // The dashboard itself is served.
  assert.match(await (await fetch(`${url}/`)).text(), /<html/i);

  const fault = await runCli(['lab', 'fault', 'regional-outage', '--dir', dir]);
  assert.equal(fault.code, 0, fault.stderr);
  assert.match(fault.stdout, /primary site is down/);
  await until((s) => s.latest?.decision.action === 'dr_failover', 'the DR decision', 90_000);

  // The failover waits for a person at the promote gate; nothing past the fence has run.
  const newestRun = async () => {
    const listed = await runCli(['runs', '--config', state.configFile!, '--json', '--limit', '1']);
    return JSON.parse(listed.stdout.trim().split('\n')[0]) as { run_id: string; status: string };
  };
  await waitUntil(
    async () => (await newestRun()).status === 'waiting_approval',
    30_000,
    'the run to wait for approval',
  );
  const run = await newestRun();

  const healed = await runCli(['lab', 'fault', 'heal', '--dir', dir]);
  assert.equal(healed.code, 0, healed.stderr);
  assert.match(healed.stdout, /healed regional-outage/);
  await until(
    (s) => s.latest?.level === 'none' && s.latest.decision.action === 'none',
    'back to none',
    90_000,
  );
  const aborted = await runCli(['abort', run.run_id, '--config', state.configFile!]);
  assert.equal(aborted.code, 0, aborted.stderr);
});
