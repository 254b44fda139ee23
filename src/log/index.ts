import { pino, type Logger, type DestinationStream, type LoggerOptions as LoggerOptions_ } from 'pino';
import pinoPretty from 'pino-pretty';
import { mapStrings, redact } from './redact.js';
import { escapeControl } from './terminal.js';

export type { Logger } from 'pino';

export type LogFormat = 'json' | 'pretty' | 'auto';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  /** `true`: human-readable; `false`: JSON lines; `'auto'` (default): human-readable when stdout is a terminal. */
  pretty?: boolean | 'auto';
  /** Where lines go; stdout by default. Tests pass a stream to read what was logged. */
  destination?: DestinationStream | NodeJS.WritableStream;
}

/**
 * One logger for the whole process. JSON lines by default, because log
 * shippers read them; pino-pretty only when a person is watching a terminal.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const pretty =
    options.pretty === 'auto' || options.pretty === undefined
      ? process.stdout.isTTY === true
      : options.pretty;
  const destination = options.destination ?? process.stdout;
  const safety = safeLines(pretty);
  if (pretty) {
    const stream = pinoPretty({
      destination: destination as NodeJS.WritableStream,
      colorize: destination === process.stdout && process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname',
      sync: true,
    });
    return pino({ level, base: undefined, ...safety }, stream);
  }
  return pino({ level, base: { pid: process.pid }, ...safety }, destination as DestinationStream);
}

/**
 * No credential reaches the log, whatever a caller passed (an error quoting a connection string, a
 * field holding a URL); and a human-readable log escapes control characters, since its lines are
 * printed raw to a terminal (JSON lines escape them already).
 */
function safeLines(pretty: boolean): Pick<LoggerOptions_, 'hooks' | 'formatters' | 'serializers'> {
  const clean = pretty ? (text: string) => escapeControl(redact(text)) : redact;
  const deep = <T>(value: T): T => mapStrings(value, clean);
  return {
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? clean(arg) : arg)) as typeof args);
      },
    },
    formatters: { log: (object) => deep(object) },
    serializers: { err: (error: Error) => deep(pino.stdSerializers.err(error)) },
  };
}

/** A logger that drops everything: the default for libraries whose caller did not pass one. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Maps the CLI's `--log-format` to `createLogger`'s `pretty`. */
export function prettyFromFormat(format: string | undefined): boolean | 'auto' {
  if (format === undefined || format === 'auto') return 'auto';
  if (format === 'pretty') return true;
  if (format === 'json') return false;
  throw new Error(`--log-format "${format}" is not known; use json, pretty or auto`);
}
export { mapStrings, redact, redactDeep, redactText, redactUrl } from './redact.js';
export { escapeControl } from './terminal.js';
