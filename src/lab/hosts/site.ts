// A site of the multi-host lab, run on its own lab host:
//   node site.js primary ADDRESS PORT            the primary's endpoints the vantage points probe (200 while it runs)
//   node site.js dr ADDRESS PORT EFFECTS_LOG     the DR site: records each runbook step effect it receives
// The DR site is where the failover's effects land, so its log is what the checker counts:
// one JSON line per effect, with the time it arrived and what the step said about itself.
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

/** One effect the DR site received from a runbook step. */
export interface Effect {
  /** Unix seconds when the DR site received it. */
  at: number;
  phase: 'start' | 'done';
  step: string;
  attempt: number;
  /** The controller host the step ran on (its hostname). */
  host: string;
  /** The fencing token the step's controller held (PHOENIX_FENCING_TOKEN). */
  token: number;
  run: string;
}

/**
 * What a resumed attempt runs first, as an idempotent step does (PHOENIX_RESUMED=1: an earlier
 * attempt was cut short, maybe after its effect): asks the DR site whether this step's effect
 * is already there, and ends the step if it is.
 */
export function alreadyDoneCommand(drUrl: string): string {
  return `if [ "$PHOENIX_RESUMED" = 1 ] && [ "$(curl -fsS -m 5 "${drUrl}/effects/done?step=$PHOENIX_STEP&run=$PHOENIX_RUN_ID")" = yes ]; then exit 0; fi`;
}

/** The shell a runbook step runs to tell the DR site `phase` (start or done), naming itself. */
export function effectCommand(drUrl: string, phase: 'start' | 'done'): string {
  const fields = [
    'step=$PHOENIX_STEP',
    'attempt=$PHOENIX_ATTEMPT',
    'host=$(hostname)',
    'token=$PHOENIX_FENCING_TOKEN',
    'run=$PHOENIX_RUN_ID',
  ];
  return `curl -fsS -m 5 -X POST "${drUrl}/effects/${phase}" --data "${fields.join('&')}"`;
}

function serve(role: string, address: string, port: number, effectsLog?: string): void {
  const done = new Set<string>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    if (role === 'dr' && req.method === 'GET' && url.pathname === '/effects/done') {
      res
        .writeHead(200)
        .end(done.has(`${url.searchParams.get('run')}/${url.searchParams.get('step')}`) ? 'yes' : 'no');
      return;
    }
    const effect = /^\/effects\/(start|done)$/.exec(req.url ?? '');
    if (role === 'dr' && req.method === 'POST' && effect && effectsLog) {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const line: Effect = {
          at: Date.now() / 1000,
          phase: effect[1] as Effect['phase'],
          step: form.get('step') ?? '',
          attempt: Number(form.get('attempt')),
          host: form.get('host') ?? '',
          token: Number(form.get('token')),
          run: form.get('run') ?? '',
        };
        appendFileSync(effectsLog, JSON.stringify(line) + '\n');
        if (line.phase === 'done') done.add(`${line.run}/${line.step}`);
        res.writeHead(200).end('recorded');
      });
      return;
    }
    res.writeHead(req.method === 'GET' ? 200 : 405).end(req.method === 'GET' ? `${role} ok` : 'GET only');
  });
  server.listen(port, address, () => console.log(`${role} site listening on ${address}:${port}`));
}

if (process.argv[1]?.endsWith('site.js')) {
  const [role, address, port, effectsLog] = process.argv.slice(2);
  serve(role, address, Number(port), effectsLog);
}
