import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Resolver } from 'node:dns/promises';
import type { Signal } from '../core/index.js';
import type { ProbeConfig } from '../config/sections/probes.js';
import { describeError, ms, round, type Probe } from './probe.js';

/**
 * Ends a probe's socket exactly once: on its own result or when the cycle aborts the probe.
 * Returns the function that delivers the result.
 */
function settleOnce(
  socket: { destroy(): void },
  abort: AbortSignal,
  resolve: (signal: Signal) => void,
): (signal: Signal) => void {
  let settled = false;
  const finish = (signal: Signal): void => {
    if (settled) return;
    settled = true;
    socket.destroy();
    abort.removeEventListener('abort', onAbort);
    resolve(signal);
  };
  const onAbort = (): void => finish({ status: 'unknown', detail: 'aborted' });
  abort.addEventListener('abort', onAbort, { once: true });
  return finish;
}

/** `tcp`: a connection opens (error when not), degraded when slower than max_latency. */
export function tcpProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const host = config.host!;
  const port = config.port!;
  return {
    name,
    type: 'tcp',
    timeout_s,
    run(context) {
      return context.limit(
        () =>
          new Promise<Signal>((resolve) => {
            const started = performance.now();
            const socket = netConnect({ host, port });
            const finish = settleOnce(socket, context.signal, resolve);
            socket.once('connect', () => {
              const latency_ms = round(performance.now() - started);
              const slow = config.max_latency !== undefined && latency_ms > config.max_latency * 1000;
              finish({
                status: slow ? 'degraded' : 'ok',
                latency_ms,
                ...(slow ? { detail: `connect took ${latency_ms} ms > ${ms(config.max_latency!)} ms` } : {}),
              });
            });
            socket.once('error', (error) =>
              finish({ status: 'error', detail: `${host}:${port}: ${describeError(error)}` }),
            );
          }),
      );
    },
  };
}

function splitServer(server: string): string {
  // node:dns wants "host" or "host:port" ("[v6]:port" for IPv6); pass it through as the user wrote it.
  return server;
}

/** `dns`: the name resolves, and the answer holds every value in `expect`. */
export function dnsProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const recordType = config.record_type ?? 'A';
  const query = config.name!;
  return {
    name,
    type: 'dns',
    timeout_s,
    run(context) {
      return context.limit(async () => {
        const resolver = new Resolver({ timeout: Math.max(100, ms(timeout_s)), tries: 1 });
        if (config.server) resolver.setServers([splitServer(config.server)]);
        const onAbort = () => resolver.cancel();
        context.signal.addEventListener('abort', onAbort, { once: true });
        const started = performance.now();
        try {
          const raw = (await resolver.resolve(query, recordType)) as unknown[];
          const latency_ms = round(performance.now() - started);
          const answers = raw.map((a) =>
            typeof a === 'string'
              ? a
              : Array.isArray(a)
                ? a.join('')
                : ((a as { exchange?: string }).exchange ?? JSON.stringify(a)),
          );
          const missing = (config.expect ?? []).filter((want) => !answers.includes(want));
          if (missing.length)
            return {
              status: 'error',
              answers,
              latency_ms,
              detail: `${query} ${recordType} answered ${answers.join(', ') || '(nothing)'}; expected ${missing.join(', ')}`,
            };
          const slow = config.max_latency !== undefined && latency_ms > config.max_latency * 1000;
          return {
            status: slow ? 'degraded' : 'ok',
            answers,
            latency_ms,
            ...(slow ? { detail: `answer took ${latency_ms} ms` } : {}),
          };
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          const why =
            code === 'ENOTFOUND'
              ? 'name does not exist (NXDOMAIN)'
              : code === 'ENODATA'
                ? `no ${recordType} record`
                : code === 'ECONNREFUSED'
                  ? `resolver ${config.server ?? ''} refused the query`
                  : code === 'ETIMEOUT'
                    ? `resolver ${config.server ?? ''} did not answer`
                    : code === 'EBADRESP' || code === 'EFORMERR'
                      ? 'resolver answered garbage'
                      : code === 'ESERVFAIL'
                        ? 'resolver answered SERVFAIL'
                        : describeError(error);
          return { status: 'error', detail: `${query} ${recordType}: ${why}` };
        } finally {
          context.signal.removeEventListener('abort', onAbort);
        }
      });
    },
  };
}

/** `tls`: days until the served certificate expires; degraded under `degraded_days`, error under `error_days`. */
export function tlsProbe(name: string, config: ProbeConfig, timeout_s: number): Probe {
  const host = config.host!;
  const port = config.port ?? 443;
  const degradedDays = config.degraded_days ?? 14;
  const errorDays = config.error_days ?? 3;
  return {
    name,
    type: 'tls',
    timeout_s,
    run(context) {
      return context.limit(
        () =>
          new Promise<Signal>((resolve) => {
            // Expiry is measured even for certificates this host does not trust; `authorized` says whether it does.
            const socket = tlsConnect({
              host,
              port,
              servername: config.servername ?? (/^[\d.:]+$/.test(host) ? undefined : host),
              rejectUnauthorized: false,
            });
            const finish = settleOnce(socket, context.signal, resolve);
            socket.once('secureConnect', () => {
              const cert = socket.getPeerCertificate();
              if (!cert || !cert.valid_to) {
                finish({ status: 'error', detail: `${host}:${port} presented no certificate` });
                return;
              }
              const expires = Date.parse(cert.valid_to);
              const days_left = round((expires - Date.now()) / 86_400_000, 2);
              const status = days_left < errorDays ? 'error' : days_left < degradedDays ? 'degraded' : 'ok';
              const signal: Signal = {
                status,
                days_left,
                expires_at: new Date(expires).toISOString(),
                authorized: socket.authorized,
              };
              if (status !== 'ok')
                signal.detail =
                  days_left < 0
                    ? `certificate of ${host}:${port} expired ${round(-days_left)} days ago`
                    : `certificate of ${host}:${port} expires in ${round(days_left)} days`;
              finish(signal);
            });
            socket.once('error', (error) =>
              finish({ status: 'error', detail: `${host}:${port}: ${describeError(error)}` }),
            );
          }),
      );
    },
  };
}
