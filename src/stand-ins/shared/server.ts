import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeHandler = (
  req: IncomingMessage,
  body: string,
  res: ServerResponse,
  url: URL,
) => void | Promise<void>;

/** A request a fake received, for tests and drills to inspect. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * The plumbing every vendor fake shares: a loopback HTTP server on a free
 * port, request recording, and a JSON admin endpoint (`GET/POST /_admin/state`)
 * so a drill can change what the fake answers while it runs.
 */
export class FakeServer {
  private server?: Server;
  readonly requests: RecordedRequest[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly handler: FakeHandler,
    private readonly admin: { get: () => unknown; set: (state: unknown) => void },
  ) {}

  get url(): string {
    if (!this.server) throw new Error('the fake server is not started');
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        if (url.pathname === '/_admin/state') return this.handleAdmin(req, body, res);
        if (url.pathname === '/_admin/requests') return sendJson(res, 200, this.requests);
        this.requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body });
        Promise.resolve(this.handler(req, body, res, url)).catch((error: unknown) => {
          if (!res.headersSent) sendJson(res, 500, { error: String(error) });
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return this;
  }

  /** Waits `ms` unless the server closes or the client goes away first. */
  delay(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve(!res.destroyed);
      }, ms);
      this.timers.add(timer);
      res.on('close', () => {
        if (!res.writableEnded) {
          clearTimeout(timer);
          this.timers.delete(timer);
          resolve(false);
        }
      });
    });
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handleAdmin(req: IncomingMessage, body: string, res: ServerResponse): void {
    if (req.method === 'GET') return sendJson(res, 200, this.admin.get());
    try {
      this.admin.set(JSON.parse(body));
      sendJson(res, 200, this.admin.get());
    } catch (error) {
      sendJson(res, 400, { error: (error as Error).message });
    }
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType = 'text/plain',
): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType });
  res.end(text);
}
