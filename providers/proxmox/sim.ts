/**
 * The Proxmox VE wire simulator: the PVE API at `https://127.0.0.1:PORT/api2/json` with several
 * nodes, API-token auth, `/cluster/nextid`, `/cluster/resources`, clones from templates as UPID
 * tasks (with `lock: clone`, storage-lock contention and half-way failures), config, start/stop/
 * shutdown, status and DELETE with purge — on the shared engine (src/sim). Errors come as PVE sends
 * them: the message in the status line's reason phrase and (by default) in the JSON body.
 *
 * From code: `const sim = await startProxmoxSimulator({ templates: [{ vmid: 9001, … }] })` →
 * `{ url, caPem, tokenId, tokenSecret, world, … , close() }`.
 * From a shell: `node providers/proxmox/sim.ts --port 8006 --factor 10 --template 9001,drover-digest.sha256.<hex>`
 * prints the URL, the token id and where the CA certificate was written.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { commonSimFlags, runSimMain, SIM_FLAGS, serveUntilSignal } from '../../src/sim/cli.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import { createEngine, type EngineOptions, type SimEngine } from '../../src/sim/engine.ts';
import type { FaultInjector } from '../../src/sim/faults.ts';
import { startSimServer, type ListenOptions } from '../../src/sim/server.ts';
import { selfSignedCertificate, type TlsPair } from '../../src/sim/tls.ts';
import type { World } from '../../src/sim/world.ts';
import { PVE_BUCKETS, putTemplate, pveApi, type TemplateInput } from './sim/api.ts';
import {
  DEFAULT_SETTINGS,
  newWorldId,
  nextFreeVmid,
  type PveContext,
  type PveSettings,
  type PveStorage,
  type PveTemplate,
} from './sim/context.ts';

export type { TemplateInput } from './sim/api.ts';
export type { PveSettings, PveStorage, PveTemplate } from './sim/context.ts';
export { recordToTagList, tagsToRecord } from './sim/tags.ts';

/** Token the simulator accepts unless told otherwise. */
export const SIM_TOKEN_ID = 'drover@pve!sim';
export const SIM_TOKEN_SECRET = 'drover-sim-secret';

/** Options of startProxmoxSimulator. Everything is optional. */
export interface ProxmoxSimulatorOptions extends EngineOptions, Omit<ListenOptions, 'tls'> {
  /** Cluster nodes. Default pve1, pve2, pve3. */
  readonly nodes?: readonly string[];
  /** Storages. Default local-lvm (local to each node) and ceph (shared). */
  readonly storages?: readonly PveStorage[];
  readonly pools?: readonly string[];
  /** Accepted API tokens (id → secret). Default { drover@pve!sim: drover-sim-secret }. */
  readonly tokens?: Readonly<Record<string, string>>;
  readonly templates?: readonly TemplateInput[];
  readonly settings?: Partial<PveSettings>;
  /** Certificate to serve; default: a fresh self-signed one. */
  readonly tls?: TlsPair;
}

/** A running PVE simulator. */
export interface ProxmoxSimulator {
  /** `https://127.0.0.1:PORT` (the API is under /api2/json; /_sim/ is the control API). */
  readonly url: string;
  readonly port: number;
  /** The CA clients must trust (the self-signed certificate itself). */
  readonly caPem: string;
  readonly tokenId: string;
  readonly tokenSecret: string;
  readonly nodes: readonly string[];
  readonly engine: SimEngine;
  readonly world: World;
  readonly clock: SimClock;
  readonly faults: FaultInjector;
  readonly settings: PveSettings;
  readonly context: PveContext;
  /** Registers a template; returns it. */
  addTemplate(input: TemplateInput): PveTemplate;
  close(): Promise<void>;
}

/** Starts a PVE simulator on 127.0.0.1 over https. */
export async function startProxmoxSimulator(options: ProxmoxSimulatorOptions = {}): Promise<ProxmoxSimulator> {
  const nodes = options.nodes ?? ['pve1', 'pve2', 'pve3'];
  const storages = options.storages ?? [
    { name: 'local-lvm', shared: false },
    { name: 'ceph', shared: true },
    { name: 'local', shared: false },
  ];
  let ctx: PveContext | undefined;
  // Tasks carry PVE's durations; the world's own transitions happen when a task ends.
  const latencies = { bootMs: 0, stopMs: 0, terminateMs: 0, terminatedRetentionMs: 60_000, ...options.latencies };
  const engine = createEngine('pve', PVE_BUCKETS, () => (ctx === undefined ? '100' : newWorldId(ctx, nextFreeVmid(ctx))), {
    ...options,
    latencies,
  });
  engine.world.launchFate = (vm) => (vm.attributes['cloning'] === true ? 'boot-stuck' : 'boot');
  const tokens = options.tokens ?? { [SIM_TOKEN_ID]: SIM_TOKEN_SECRET };
  ctx = {
    engine,
    nodes,
    storages: new Map(storages.map((s) => [s.name, s])),
    pools: new Set(options.pools ?? ['drover']),
    tokens: new Map(Object.entries(tokens)),
    templates: new Map(),
    tasks: new Map(),
    activeFullClones: new Map(),
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    snapshot: undefined,
    lastAllocated: undefined,
    vmidUses: new Map(),
    lockTimeouts: 0,
  };
  const context = ctx;
  for (const t of options.templates ?? []) putTemplate(context, t);
  const tls = options.tls ?? (await selfSignedCertificate());
  const server = await startSimServer(engine, pveApi(context), {
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    tls,
  });
  const [tokenId, tokenSecret] = Object.entries(tokens)[0] ?? [SIM_TOKEN_ID, SIM_TOKEN_SECRET];
  return {
    url: server.url,
    port: server.port,
    caPem: tls.cert,
    tokenId,
    tokenSecret,
    nodes,
    engine,
    world: engine.world,
    clock: engine.clock,
    faults: engine.faults,
    settings: context.settings,
    context,
    addTemplate: (input) => putTemplate(context, input),
    close: () => server.close(),
  };
}

/** Parses `VMID[,TAG…]` (tags without key=value, as PVE has them). */
export function parseTemplateArg(arg: string): TemplateInput {
  const [vmid, ...tags] = arg.split(',');
  return { vmid: Number(vmid), tags };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...SIM_FLAGS,
      nodes: { type: 'string', default: 'pve1,pve2,pve3' },
      template: { type: 'string', multiple: true, default: [] },
    },
  });
  const sim = await startProxmoxSimulator({
    ...commonSimFlags(values),
    nodes: values.nodes.split(','),
    templates: values.template.map(parseTemplateArg),
  });
  const caFile = path.join(tmpdir(), `drover-pve-sim-${sim.port}-ca.pem`);
  await writeFile(caFile, sim.caPem);
  serveUntilSignal(
    sim,
    `pve simulator listening on ${sim.url}/api2/json token=${sim.tokenId} secret=${sim.tokenSecret} (simulator only; export it as PVE_TOKEN_SECRET) ca=${caFile} control=${sim.url}/_sim/`,
  );
}

if (import.meta.main) await runSimMain(main);
