/**
 * The HA suite's `drover run` replicas. A slot is one replica's place (its own state directory,
 * its own TCP proxy in front of etcd so that the test can cut it off alone); each process started
 * in a slot is a new replica identity (`r<slot>-<generation>`), as a restarted host's would be.
 * The next process of a slot is spawned behind the crash suite's gate (modules warmed, drover's
 * code not started) while the current one runs, so a restart after a kill costs little.
 */
import { writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnGatedDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, GatedDaemon } from '../helpers/daemon-process.ts';
import { TcpProxy } from '../helpers/etcd.ts';
import type { LaneDef } from './ha-fleet.ts';

export const HA_TOKEN = 'ha-token-5c0f2a91';
const GATE = path.resolve(import.meta.dirname, 'crash-gate.ts');

/** What every replica of a cluster shares. */
export interface ReplicaSettings {
  /** The etcd client port the proxies relay to (undefined: no HA, a lone replica). */
  readonly etcdPort: number | undefined;
  /** Key prefix in etcd. */
  readonly prefix: string;
  /** Durations as the config file takes them (`3s`, `600ms`). */
  readonly leaseTtl: string;
  readonly fenceWindow: string;
  readonly lanes: readonly LaneDef[];
  /** Environment of every process (source, simulators' endpoints, credentials …). */
  readonly env: Readonly<Record<string, string>>;
  /** Scratch directory of the cluster. */
  readonly dir: string;
}

/** One replica's place in the cluster. */
export class ReplicaSlot {
  readonly slot: number;
  readonly stateDir: string;
  /** Its own way to etcd (undefined without HA). */
  readonly proxy: TcpProxy | undefined;
  private readonly settings: ReplicaSettings;
  private generation = 0;
  private next: { gated: GatedDaemon; id: string } | undefined;
  private running: { process: DaemonProcess; id: string } | undefined;
  /** Every identity this slot ran, in order. */
  readonly identities: string[] = [];
  paused = false;

  private constructor(slot: number, settings: ReplicaSettings, proxy: TcpProxy | undefined) {
    this.slot = slot;
    this.settings = settings;
    this.proxy = proxy;
    this.stateDir = path.join(settings.dir, `replica-${slot}`, 'state');
  }

  static async create(slot: number, settings: ReplicaSettings): Promise<ReplicaSlot> {
    const proxy = settings.etcdPort === undefined ? undefined : await TcpProxy.start(settings.etcdPort);
    await mkdir(path.join(settings.dir, `replica-${slot}`), { recursive: true });
    return new ReplicaSlot(slot, settings, proxy);
  }

  /** The running process, if any. */
  get process(): DaemonProcess | undefined {
    return this.running?.process;
  }

  /** The identity of the running process (undefined when none runs). */
  get id(): string | undefined {
    return this.running?.id;
  }

  /** Starts the slot's next process and waits until it listens; then warms the one after. */
  async start(): Promise<DaemonProcess> {
    if (this.running !== undefined) throw new Error(`replica slot ${this.slot} runs already`);
    const { gated, id } = this.take();
    const process = await gated.release(HA_TOKEN, 120_000);
    this.running = { process, id };
    this.identities.push(id);
    this.prepare();
    return process;
  }

  /** SIGKILL; resolves once it exited. */
  async kill(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    this.paused = false;
    if (running !== undefined) await running.process.kill();
  }

  /** SIGTERM (hand-over); resolves the exit code. */
  async stop(): Promise<number | null> {
    const running = this.running;
    this.running = undefined;
    if (running === undefined) return null;
    if (this.paused) running.process.signal('SIGCONT');
    this.paused = false;
    return running.process.stop();
  }

  /** SIGSTOP: the process keeps its sockets but runs nothing. */
  pause(): void {
    this.running?.process.signal('SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    this.running?.process.signal('SIGCONT');
    this.paused = false;
  }

  /** Kills the running process and the warm one, closes the proxy. */
  async close(): Promise<void> {
    if (this.paused) this.resume();
    await this.kill();
    await this.next?.gated.discard();
    this.next = undefined;
    await this.proxy?.close();
  }

  private take(): { gated: GatedDaemon; id: string } {
    this.prepare();
    const taken = this.next!;
    this.next = undefined;
    return taken;
  }

  private prepare(): void {
    if (this.next !== undefined) return;
    this.generation++;
    const id = `r${this.slot}-${this.generation}`;
    const config = path.join(this.settings.dir, `replica-${this.slot}`, `drover-${this.generation}.yaml`);
    writeFileSync(config, configYaml(this.settings, id, this.proxy));
    const env = {
      ...this.settings.env,
      DROVER_CONFIG: config,
      DROVER_STATE_DIR: this.stateDir,
      NODE_COMPILE_CACHE: path.join(os.tmpdir(), 'drover-crash-compile-cache'),
    };
    this.next = { gated: spawnGatedDaemon(env, GATE), id };
  }
}

/** The replica's config file: its provider bindings, and its `ha` section when the cluster has etcd. */
export function configYaml(settings: ReplicaSettings, id: string, proxy: TcpProxy | undefined): string {
  const bindings = settings.lanes.map(
    (l) => `  ${l.name}: { type: ${l.cloud.kind}${l.cloud.kind === 'aws' ? ', listLagSeconds: 2' : ''} }\n`,
  );
  const ha =
    proxy === undefined
      ? ''
      : `ha:\n  replicaId: ${id}\n  etcd:\n    endpoints: [${proxy.endpoint}]\n    prefix: ${settings.prefix}\n    leaseTtl: ${settings.leaseTtl}\n    fenceWindow: ${settings.fenceWindow}\n`;
  return `providers:\n${bindings.join('')}${ha}`;
}
