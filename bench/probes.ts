// npm run bench:probes -- --targets N --interval SECONDS --cycles K [--concurrency C] [--json]
// Probes N HTTP targets (served by a separate process) with the real controller loop and reports
// cycle p99, CPU share (CPU seconds / wall seconds) of this process, peak RSS and missed intervals.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/index.js';
import { Controller } from '../src/controller/index.js';
import { createSignalSource } from '../src/signals/index.js';
import { HistoryStore, openDatabase } from '../src/store/index.js';
import { BenchCleanup } from './cleanup.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '30' },
    cycles: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '256' },
    json: { type: 'boolean', default: false },
  },
});
const targets = Number(values.targets);
const interval = Number(values.interval);
const cycles = Number(values.cycles);
const concurrency = Number(values.concurrency);
for (const [name, v] of Object.entries({ targets, interval, cycles, concurrency }))
  if (!Number.isFinite(v) || v <= 0) {
    process.stderr.write(`bench:probes: --${name} must be a positive number\n`);
    process.exit(2);
  }

const cleanup = BenchCleanup.install('bench:probes');
const self = fileURLToPath(import.meta.url);
// `npm run bench:probes` runs the compiled bench (no tsx compiler in the measured process); tsx still works.
const targetServer = join(dirname(self), `target-server${extname(self)}`);
const server = spawn(
  process.execPath,
  [...(extname(self) === '.ts' ? ['--import', 'tsx'] : []), targetServer],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
cleanup.add('the target server', async () => {
  if (server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
});
const port = await new Promise<number>((resolve, reject) => {
  const lines = createInterface({ input: server.stdout! });
  lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  server.once('exit', (code) => reject(new Error(`target server exited with ${code}`)));
});

const config = parseConfig({
  interval,
  decision: { analyzer: 'threshold' },
  store: { path: ':memory:' },
  probes: {
    concurrency,
    signals: {
      internal_services: {
        type: 'http_checks',
        timeout: interval * 0.9,
        target_timeout: 5,
        targets: Array.from({ length: targets }, (_, i) => ({
          name: `svc-${i}`,
          url: `http://127.0.0.1:${port}/health/${i}`,
        })),
      },
    },
  },
});
const probes = createSignalSource(config);
const history = new HistoryStore(openDatabase(':memory:'), config.store.retention_s);
const controller = new Controller({ config, signals: probes, history });

const durations: number[] = [];
let unhealthy = 0;
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const done = new Promise<void>((resolve) =>
  controller.on('cycle', (record) => {
    durations.push(record.duration_ms);
    if (record.signals.internal_services.status !== 'ok') unhealthy++;
    if (durations.length === cycles) resolve();
  }),
);
const cpuStart = process.cpuUsage();
const wallStart = performance.now();
controller.start();
await done;
// Measure whole intervals: the idle part of the last interval belongs to the figure too.
const remaining = wallStart + cycles * interval * 1000 - performance.now();
if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
const cpu = process.cpuUsage(cpuStart);
const wall_s = (performance.now() - wallStart) / 1000;
const stats = controller.status();
await controller.stop();
clearInterval(sampler);
await probes.close();
await cleanup.close();

const sorted = [...durations].sort((a, b) => a - b);
const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
const result = {
  targets,
  interval_s: interval,
  cycles,
  cycle_p99_ms: Math.round(p99),
  cpu_share: Math.round(((cpu.user + cpu.system) / 1e6 / wall_s) * 1000) / 1000,
  rss_mb: Math.round(peakRss / 1048576),
  missed_intervals: stats.missed_intervals,
  unhealthy_cycles: unhealthy,
};
if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
else
  process.stdout.write(
    `${targets} targets every ${interval}s, ${cycles} cycles: cycle p99 ${result.cycle_p99_ms} ms, ` +
      `CPU ${(result.cpu_share * 100).toFixed(1)}% of one core, peak RSS ${result.rss_mb} MB, ` +
      `${result.missed_intervals} missed intervals, ${unhealthy} cycles not ok\n`,
  );
process.exit(0);
