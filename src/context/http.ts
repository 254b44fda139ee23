/** A source that answered badly; the message is one line saying what and, where it helps, the fix. */
export class SourceError extends Error {
  override name = 'SourceError';
}

const MAX_BODY_BYTES = 8 << 20;

export interface FetchOptions {
  signal: AbortSignal;
  headers?: Record<string, string>;
  /** The source's name for messages. */
  source: string;
  /** Error statuses whose body is still the API's answer (Prometheus explains a bad query in a 400's JSON). */
  answerStatuses?: number[];
  /** The largest body read (default 8 MiB); past it the download is cancelled, not buffered. */
  maxBytes?: number;
}

/**
 * Reads a body up to `max` bytes, counting while it streams: a feed that answers with gigabytes
 * (or never stops) costs at most `max` bytes of memory before the connection is dropped.
 */
async function readCapped(response: Response, max: number, source: string): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > max) {
    await response.body?.cancel();
    throw new SourceError(`${source}: answer larger than ${max} bytes (Content-Length ${declared})`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new SourceError(`${source}: answer larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** GETs a URL and returns its body as text, turning every failure into a one-line SourceError. */
export async function fetchText(url: string, options: FetchOptions): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { headers: options.headers, signal: options.signal, redirect: 'follow' });
  } catch (error) {
    if (options.signal.aborted) throw new SourceError(`${options.source}: no answer in time`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new SourceError(
      `${options.source}: cannot reach ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (error as Error).message})`,
    );
  }
  let text: string;
  try {
    text = await readCapped(response, options.maxBytes ?? MAX_BODY_BYTES, options.source);
  } catch (error) {
    if (error instanceof SourceError) throw error;
    if (options.signal.aborted) throw new SourceError(`${options.source}: no answer in time`);
    throw new SourceError(`${options.source}: the answer broke off (${(error as Error).message})`);
  }
  if (!response.ok && !options.answerStatuses?.includes(response.status)) {
    throw new SourceError(
      `${options.source}: HTTP ${response.status} from ${new URL(url).origin}${text ? `: ${oneLine(text, 160)}` : ''}`,
    );
  }
  return text;
}

export async function fetchJson(url: string, options: FetchOptions): Promise<unknown> {
  const text = await fetchText(url, options);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SourceError(`${options.source}: the answer is not JSON: ${JSON.stringify(oneLine(text, 80))}`);
  }
}

export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Joins a base URL and an API path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** Parses an ISO time to Unix seconds, or undefined. */
export function isoToSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}
