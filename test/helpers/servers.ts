import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

// The stand-ins answer on the same kind of server; tests use it for their own one-off peers.
export { httpServer } from '../../src/stand-ins/shared/loopback.js';

/** A TCP server whose connections get `reply` (or nothing, when undefined: a hang). */
export async function tcpServer(reply?: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (reply !== undefined) socket.once('data', () => socket.end(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const s = await tcpServer();
  await s.close();
  return s.port;
}

function readName(msg: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i] !== 0) {
    const len = msg[i];
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), next: i + 1 };
}

/**
 * A small authoritative DNS server over UDP answering A queries from `records`
 * (NXDOMAIN for other names), or answering garbage when `garbage` is set.
 */
export async function dnsServer(
  records: Record<string, string[]>,
  options: { garbage?: boolean } = {},
): Promise<{ server: string; port: number; close(): Promise<void> }> {
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (options.garbage) {
      socket.send(Buffer.from('this is not dns'), rinfo.port, rinfo.address);
      return;
    }
    const id = msg.readUInt16BE(0);
    const { name, next } = readName(msg, 12);
    const qtype = msg.readUInt16BE(next);
    const question = msg.subarray(12, next + 4);
    const answers = qtype === 1 ? (records[name] ?? []) : [];
    const rcode = name in records ? 0 : 3;
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(0x8400 | 0x0100 | rcode, 2); // response, authoritative, recursion desired echoed
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((ip) => {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      ip.split('.').forEach((octet, k) => rr.writeUInt8(Number(octet), 12 + k));
      return rr;
    });
    socket.send(Buffer.concat([header, question, ...rrs]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = socket.address().port;
  return {
    server: `127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
