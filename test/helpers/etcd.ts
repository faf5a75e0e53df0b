/**
 * A real etcd server (Debian `etcd-server`, installed by .ci/run) started by a test on loopback,
 * with its own data directory and ports: killed, paused and restarted with its data as a test needs.
 * And `TcpProxy`, a loopback TCP relay a test puts in front of etcd to cut one replica off it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The etcd binary: `ETCD_BIN`, else the Debian package's. */
export const ETCD_BIN = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

/** TLS files for a member: clients must present a certificate signed by `caFile`. */
export interface EtcdTlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** One etcd member on loopback. */
export class EtcdServer {
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** Plain-HTTP /health and /metrics (the client port speaks TLS when `tls` is set). */
  readonly metricsPort: number;
  readonly tls: EtcdTlsFiles | undefined;
  /** Its output, for a failing test's message. */
  readonly logs: string[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(dataDir: string, ports: number[], tls: EtcdTlsFiles | undefined) {
    this.dataDir = dataDir;
    [this.clientPort, this.peerPort, this.metricsPort] = ports as [number, number, number];
    this.tls = tls;
  }

  /**
   * Starts a new member with an empty data directory; resolves once it answers /health. With
   * `tls`, clients connect over TLS and must present a client certificate signed by its CA.
   */
  static async start(tls?: EtcdTlsFiles): Promise<EtcdServer> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drover-etcd-'));
    const server = new EtcdServer(dataDir, await freePorts(3), tls);
    await server.restart();
    return server;
  }

  /** `http(s)://127.0.0.1:<port>`: what `ha.etcd.endpoints` lists. */
  get endpoint(): string {
    return `${this.tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.clientPort}`;
  }

  /** Plain HTTP base URL of /health and /metrics. */
  get metricsEndpoint(): string {
    return `http://127.0.0.1:${this.metricsPort}`;
  }

  /** Whether the process runs (it may be stopped with SIGSTOP). */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** (Re)starts the member on its data directory and ports; resolves once healthy. */
  async restart(): Promise<void> {
    if (this.child !== undefined) throw new Error('etcd is running');
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      ETCD_BIN,
      [
        '--name=t',
        `--data-dir=${path.join(this.dataDir, 'data')}`,
        `--listen-client-urls=${this.endpoint}`,
        `--advertise-client-urls=${this.endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=t=${peer}`,
        `--listen-metrics-urls=${this.metricsEndpoint}`,
        '--logger=zap',
        '--log-level=warn',
        ...(this.tls === undefined
          ? []
          : [
              `--cert-file=${this.tls.certFile}`,
              `--key-file=${this.tls.keyFile}`,
              `--trusted-ca-file=${this.tls.caFile}`,
              '--client-cert-auth',
            ]),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer) => this.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean).slice(-50));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    void this.exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    await this.waitHealthy();
  }

  /** Sends `signal` (default SIGKILL) and waits for the exit; the data directory stays. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill(signal);
    await this.exited;
    this.child = undefined;
  }

  /** Stops the member and removes its data directory. */
  async stop(): Promise<void> {
    await this.kill('SIGKILL');
    await rm(this.dataDir, { recursive: true, force: true });
  }

  private async waitHealthy(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child === undefined) throw new Error(`etcd exited while starting:\n${this.logs.slice(-20).join('\n')}`);
      try {
        const response = await fetch(`${this.metricsEndpoint}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await response.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`etcd not healthy after ${timeoutMs} ms:\n${this.logs.slice(-20).join('\n')}`);
  }
}

/** One relayed connection: bytes pass while `forwarding`. */
interface Relayed {
  forwarding: boolean;
}

/**
 * A loopback TCP relay to `target`: a replica configured with `endpoint` reaches etcd through it;
 * `cut()` drops every connection and refuses new ones (the replica is cut off; others are not),
 * `blackhole()` keeps every connection open but forwards no byte on any (existing or new: a
 * partition, or a middlebox that lost its state), `mend()` lets new connections through again
 * (a blackholed one stays dead, as after a real partition).
 */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly relayed = new Set<Relayed>();
  private mode: 'open' | 'cut' | 'blackhole' = 'open';
  readonly port: number;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  /** Listens on a free loopback port and relays to `targetPort` on 127.0.0.1. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy?.relay(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Connections accepted and still open on the client side (whether they forward or not). */
  openConnections(): number {
    return this.relayed.size;
  }

  /** Drops every relayed connection and refuses new ones until mend(). */
  cut(): void {
    this.mode = 'cut';
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /** Every connection, existing or new, stays open and forwards nothing, until mend() (new ones only). */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const relayed of this.relayed) relayed.forwarding = false;
  }

  /** Connections made from now on relay again. */
  mend(): void {
    this.mode = 'open';
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket, targetPort: number): void {
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const relayed: Relayed = { forwarding: this.mode === 'open' };
    this.relayed.add(relayed);
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        this.relayed.delete(relayed);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      if (relayed.forwarding) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (relayed.forwarding) client.write(chunk);
    });
  }
}

/** `count` distinct free loopback ports (held open together, then released). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve) => {
          const server = net.createServer();
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
