/**
 * The Azure Resource Manager wire simulator: virtual machines (PUT with long-running operations,
 * GET, list with nextLink, DELETE), network interfaces, managed images and gallery image versions,
 * with ARM's error envelope, throttling (429 + Retry-After) and idempotent, case-insensitive
 * names, on the shared engine (src/sim). Served over https with a self-signed certificate made at
 * start (Azure's SDK refuses bearer tokens over http); clients trust `sim.ca`.
 *
 * From code: `const sim = await startAzureSimulator({ factor: 100 })` → `{ url, ca, world, …, close() }`.
 * From a shell: `node providers/azure/sim.ts --port 8443 --image /subscriptions/…/images/web,drover:digest=sha256:…`
 * prints the URL and writes the CA certificate to `--ca-file` (default ./drover-azure-sim-ca.pem).
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { commonSimFlags, runSimMain, SIM_FLAGS, serveUntilSignal, splitKeyValues } from '../../src/sim/cli.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import { createEngine, type EngineOptions, type SimEngine } from '../../src/sim/engine.ts';
import { startSimServer, type ListenOptions } from '../../src/sim/server.ts';
import { selfSignedCertificate } from '../../src/sim/tls.ts';
import type { World } from '../../src/sim/world.ts';
import { AZURE_BUCKETS, azureApi } from './sim/api.ts';
import type { AzureContext, AzureSettings, PutRecord } from './sim/context.ts';
import { ImageStore, type ImageInput } from './sim/images.ts';
import { NicStore, type SimNic } from './sim/nics.ts';
import { findVm, vmResourceId } from './sim/vms.ts';

export { AZURE_BUCKETS } from './sim/api.ts';
export { ALLOCATE_ACTION } from './sim/vms.ts';
export type { AzureSettings, PutRecord } from './sim/context.ts';
export type { ImageInput, SimImage } from './sim/images.ts';
export type { SimNic } from './sim/nics.ts';

/** Options of startAzureSimulator. Everything is optional. */
export interface AzureSimulatorOptions extends EngineOptions, Omit<ListenOptions, 'tls'> {
  /** Default 00000000-0000-0000-0000-000000000000. */
  readonly subscriptionId?: string;
  /** Location (region) name, default westeurope. */
  readonly location?: string;
  /** Known resource groups (others: ResourceGroupNotFound); default: any. */
  readonly resourceGroups?: readonly string[];
  /** Resource group of out-of-band instances; default the first known group or `rg`. */
  readonly defaultResourceGroup?: string;
  /** Known subnet ids; default: any well-formed subnet id. */
  readonly subnets?: readonly string[];
  /** Accepted bearer tokens; default: any. */
  readonly tokens?: readonly string[];
  /** Images and gallery image versions to register at start. */
  readonly images?: readonly ImageInput[];
  /** Live-VM quota (OperationNotAllowed 409 beyond). */
  readonly vmQuota?: number;
  /** Items per list page (default 50). */
  readonly pageSize?: number;
  /** Managed identities the caller may assign (AzureSettings.managedIdentities); default: any well-formed id. */
  readonly managedIdentities?: readonly string[];
}

/** A running Azure simulator. */
export interface AzureSimulator {
  /** ARM endpoint (https) for the SDK's `endpoint` option; also serves /_sim/. */
  readonly url: string;
  readonly port: number;
  /** PEM certificate clients must trust (it is its own CA). */
  readonly ca: string;
  readonly subscriptionId: string;
  readonly location: string;
  readonly engine: SimEngine;
  readonly world: World;
  readonly clock: SimClock;
  readonly faults: SimEngine['faults'];
  readonly throttler: SimEngine['throttler'];
  readonly images: ImageStore;
  readonly settings: AzureSettings;
  /** Every VM PUT received, in order. */
  readonly puts: readonly PutRecord[];
  /** Network interfaces that exist now. */
  nics(): SimNic[];
  /** How often each VM (lowercase resource id) was returned to a client (GET, list, PUT, instance view). */
  readonly vmReads: Map<string, number>;
  /** Registers an image or gallery image version. */
  addImage(input: ImageInput): string;
  close(): Promise<void>;
}

/** Starts an ARM simulator on https://127.0.0.1 (any free port unless `port` is given). */
export async function startAzureSimulator(options: AzureSimulatorOptions = {}): Promise<AzureSimulator> {
  const subscriptionId = options.subscriptionId ?? '00000000-0000-0000-0000-000000000000';
  const location = options.location ?? 'westeurope';
  // Deleted VMs vanish at once (404), unlike EC2's hour of `terminated`.
  const engine = createEngine('azure', AZURE_BUCKETS, () => crypto.randomUUID(), {
    ...options,
    latencies: { terminatedRetentionMs: 0, ...options.latencies },
  });
  const settings: AzureSettings = {
    vmQuota: options.vmQuota,
    resourceGroups: options.resourceGroups,
    subnets: options.subnets,
    tokens: options.tokens,
    unavailableSizes: {},
    pageSize: options.pageSize ?? 50,
    failDeletes: 0,
    operationRetryAfterSeconds: undefined,
    managedIdentities: options.managedIdentities,
  };
  const ctx: AzureContext = {
    engine,
    subscriptionId,
    location,
    defaultResourceGroup: options.defaultResourceGroup ?? options.resourceGroups?.[0] ?? 'rg',
    settings,
    images: new ImageStore(),
    nics: new NicStore((id) => vmAlive(ctx, id)),
    puts: [],
    vmReads: new Map(),
  };
  for (const image of options.images ?? []) ctx.images.put(image);
  const tls = await selfSignedCertificate();
  const server = await startSimServer(engine, azureApi(ctx), { port: options.port, host: options.host, tls });
  return {
    url: server.url,
    port: server.port,
    ca: tls.cert,
    subscriptionId,
    location,
    engine,
    world: engine.world,
    clock: engine.clock,
    faults: engine.faults,
    throttler: engine.throttler,
    images: ctx.images,
    settings,
    puts: ctx.puts,
    vmReads: ctx.vmReads,
    nics: () => ctx.nics.all(),
    addImage: (input) => ctx.images.put(input).id,
    close: () => server.close(),
  };
}

function vmAlive(ctx: AzureContext, vmResourceIdValue: string): boolean {
  const match = /\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i.exec(vmResourceIdValue);
  if (match?.[1] === undefined || match[2] === undefined) return false;
  const vm = findVm(ctx, match[1], match[2]);
  return vm !== undefined && vmResourceId(ctx, vm).toLowerCase() === vmResourceIdValue.toLowerCase();
}

/** Parses `ID[,KEY=VALUE…]` into an image. */
export function parseImageArg(arg: string): ImageInput {
  const { head: id, pairs: tags } = splitKeyValues(arg);
  return { id, tags };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...SIM_FLAGS,
      subscription: { type: 'string', default: '00000000-0000-0000-0000-000000000000' },
      location: { type: 'string', default: 'westeurope' },
      'ca-file': { type: 'string', default: 'drover-azure-sim-ca.pem' },
      image: { type: 'string', multiple: true, default: [] },
    },
  });
  const sim = await startAzureSimulator({
    ...commonSimFlags(values),
    subscriptionId: values.subscription,
    location: values.location,
    images: values.image.map(parseImageArg),
  });
  await writeFile(values['ca-file'], sim.ca);
  serveUntilSignal(
    sim,
    `azure simulator listening on ${sim.url} subscription=${sim.subscriptionId} ca=${values['ca-file']} control=${sim.url}/_sim/ (set NO_PROXY=127.0.0.1,localhost)`,
  );
}

if (import.meta.main) await runSimMain(main);
