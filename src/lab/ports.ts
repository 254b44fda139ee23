import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

function tcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function udpFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}

/**
 * A loopback port nobody listens on right now, free for TCP and UDP alike (DNS servers need both).
 * Another process may still take it before the caller binds it; callers that start servers retry.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await tcpPort(host);
    if (port > 0 && (await udpFree(host, port))) return port;
  }
  throw new Error(`no free port found on ${host}`);
}

/** A port free on every one of the given loopback addresses (the lab's two app sites share one port). */
export async function freePortOn(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort(hosts[0]);
    let free = true;
    for (const host of hosts.slice(1)) {
      const ok = await new Promise<boolean>((resolve) => {
        const server = createServer();
        server.once('error', () => resolve(false));
        server.listen(port, host, () => server.close(() => resolve(true)));
      });
      if (!ok) {
        free = false;
        break;
      }
    }
    if (free) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}
