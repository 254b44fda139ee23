import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { StepError } from '../types.js';

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

const KEEP = 64 * 1024;

/** Keeps the tail of a long output: the end of a plan or an error is what matters. */
function tail(text: string): string {
  return text.length > KEEP ? '…' + text.slice(text.length - KEEP) : text;
}

/** Finds an executable on PATH (or checks an explicit path). */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates =
    isAbsolute(name) || name.includes('/')
      ? [name]
      : (env.PATH ?? '').split(delimiter).map((d) => join(d, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  return undefined;
}

/**
 * Runs a program to completion, capturing its output. The abort signal (timeout or
 * `phoenix abort`) kills it; a non-zero exit is a StepError naming the program and its last words.
 */
export function runProcess(
  command: string,
  args: string[],
  options: {
    signal?: AbortSignal;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    input?: string;
    allowFailure?: boolean;
  } = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted)
      return reject(new StepError(`${command} not started: ${String(options.signal.reason ?? 'aborted')}`));
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = tail(stdout + d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = tail(stderr + d)));
    const onAbort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(
        new StepError(
          error.code === 'ENOENT'
            ? `${command}: executable not found; install it or put it on PATH`
            : `${command}: ${error.message}`,
        ),
      );
    });
    child.on('close', (code, signalName) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) {
        return reject(new StepError(`${command} stopped: ${String(options.signal.reason ?? 'aborted')}`));
      }
      const result = { code: code ?? 128, stdout, stderr };
      if ((code !== 0 || signalName) && !options.allowFailure) {
        const last = (stderr.trim() || stdout.trim()).split('\n').slice(-3).join(' | ');
        return reject(
          new StepError(
            `${command} ${args[0] ?? ''} exited with ${code ?? signalName}: ${last || '(no output)'}`,
          ),
        );
      }
      resolve(result);
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}
