import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Server, type Socket as TcpSocket } from 'node:net';

/** A DNS message's opcode (RFC 1035 §4.1.1: bits 1-4 of the third octet); 5 is UPDATE (RFC 2136 §1). */
const opcode = (message: Buffer): number => (message.length > 2 ? (message[2] >> 3) & 0x0f : -1);
const UPDATE = 5;

/**
 * A pass-through in front of a real DNS server (BIND in the kill-anywhere benchmark) that forwards every
 * message at once, over UDP and TCP on one port, and holds the server's reply to a dynamic update
 * (RFC 2136) `delayMs` before passing it on. BIND has applied the update when it replies: for `delayMs`
 * the zone holds a change the client (nsupdate under a controller) has not heard of. A server cannot be
 * told to answer late; the update, its TSIG signature and the reply's bytes are BIND's, untouched.
 */
export class DnsDelayRelay {
  private udp?: Socket;
  private tcp?: Server;
  private readonly upstreams = new Set<Socket>();
  private readonly connections = new Set<TcpSocket>();
  /** Updates relayed (queries are not counted). */
  updates = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
    readonly delayMs: number,
  ) {}

  get port(): number {
    return this.udp!.address().port;
  }

  async start(): Promise<this> {
    // UDP and TCP on the same port, as a DNS server listens: the UDP port is the OS's choice, and TCP
    // takes it too unless another program holds it, in which case both are chosen again.
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, '127.0.0.1', () => resolve());
      });
      const tcp = createServer((client) => this.relayTcp(client));
      const taken = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(true));
        tcp.listen(udp.address().port, '127.0.0.1', () => resolve(false));
      });
      if (!taken) {
        this.udp = udp;
        this.tcp = tcp;
        udp.on('message', (message, client) => this.relayUdp(message, client));
        return this;
      }
      udp.close();
      if (attempt >= 20) throw new Error('no free port for the DNS relay on both UDP and TCP');
    }
  }

  private later(message: Buffer, send: () => void): void {
    if (opcode(message) !== UPDATE || !(this.delayMs > 0)) return send();
    setTimeout(send, this.delayMs).unref();
  }

  private relayUdp(message: Buffer, client: { address: string; port: number }): void {
    if (opcode(message) === UPDATE) this.updates += 1;
    // One upstream socket per message: the reply comes back on it and goes to the client it came from.
    const upstream = createSocket('udp4');
    this.upstreams.add(upstream);
    const done = () => {
      clearTimeout(timer);
      this.upstreams.delete(upstream);
      upstream.close();
    };
    const timer = setTimeout(done, 30_000);
    upstream.on('error', done);
    upstream.once('message', (reply) => {
      this.later(reply, () => this.udp?.send(reply, client.port, client.address, () => undefined));
      done();
    });
    upstream.send(message, this.upstreamPort, this.upstreamHost);
  }

  /** TCP messages carry a two-octet length (RFC 1035 §4.2.2): replies are split on it and delayed one by one. */
  private relayTcp(client: TcpSocket): void {
    const upstream = connect(this.upstreamPort, this.upstreamHost);
    this.connections.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.connections.delete(client);
      this.connections.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
    let fromClient = Buffer.alloc(0);
    client.on('data', (chunk) => {
      upstream.write(chunk);
      fromClient = Buffer.concat([fromClient, chunk]);
      while (fromClient.length >= 2 && fromClient.length >= 2 + fromClient.readUInt16BE(0)) {
        if (opcode(fromClient.subarray(2)) === UPDATE) this.updates += 1;
        fromClient = fromClient.subarray(2 + fromClient.readUInt16BE(0));
      }
    });
    let fromServer = Buffer.alloc(0);
    // Replies leave in the order they came, each no earlier than its own delay.
    let sent = Promise.resolve();
    upstream.on('data', (chunk) => {
      fromServer = Buffer.concat([fromServer, chunk]);
      while (fromServer.length >= 2 && fromServer.length >= 2 + fromServer.readUInt16BE(0)) {
        const frame = fromServer.subarray(0, 2 + fromServer.readUInt16BE(0));
        fromServer = fromServer.subarray(frame.length);
        const ready = new Promise<void>((r) => this.later(frame.subarray(2), r));
        sent = sent.then(() => ready).then(() => void (client.destroyed || client.write(frame)));
      }
    });
  }

  async stop(): Promise<void> {
    for (const s of this.upstreams) s.close();
    this.upstreams.clear();
    for (const c of this.connections) c.destroy();
    this.connections.clear();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }
}
