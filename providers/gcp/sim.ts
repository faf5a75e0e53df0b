/**
 * The Compute Engine wire simulator: the Compute v1 REST API on 127.0.0.1 — instances insert /
 * get / list / aggregatedList / delete, zone operations get / wait, images get — with GCE's JSON
 * shapes, error JSON, requestId idempotency, per-zone unique names, label filters, pagination,
 * operations that finish later on the sim clock (DONE with `error` when they fail), and the
 * per-project rate quotas, on the shared engine (src/sim). The real @google-cloud/compute client
 * talks to it with `{ apiEndpoint: '127.0.0.1', port, protocol: 'http', authClient: new PassThroughClient() }`.
 *
 * Digests: GCE labels cannot hold `sha256:` + 64 hex, so images (and instances) carry the label
 * `drover-digest` = the first 63 hex characters of the digest (see providers/gcp/labels.ts).
 *
 * From code: `const sim = await startGceSimulator({ projects: ['acme-prod'], factor: 100 })`.
 * From a shell: `node providers/gcp/sim.ts --port 4567 --project acme-prod --image projects/acme-prod/global/images/web-1,drover-digest=<63 hex>`
 * prints one line: `gce simulator listening on http://127.0.0.1:4567 projects=acme-prod control=…/_sim/`.
 */
import { parseArgs } from 'node:util';
import { commonSimFlags, runSimMain, SIM_FLAGS, serveUntilSignal, splitKeyValues } from '../../src/sim/cli.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import { createEngine, type EngineOptions, type SimEngine } from '../../src/sim/engine.ts';
import type { FaultInjector } from '../../src/sim/faults.ts';
import { startSimServer, type ListenOptions } from '../../src/sim/server.ts';
import type { Throttler } from '../../src/sim/token-bucket.ts';
import type { World } from '../../src/sim/world.ts';
import { gceApi, projectBuckets } from './sim/api.ts';
import { DEFAULT_ZONES, newNumericId, type GceContext, type GceSettings } from './sim/context.ts';
import { ImageStore, parseImagePath, type ImageInput, type SimImage } from './sim/images.ts';
import { OperationStore } from './sim/operations.ts';

export { GCE_BUCKETS, projectBucket, projectBuckets } from './sim/api.ts';
export { INSERT_OPERATION_FAULT } from './sim/insert.ts';
export { DEFAULT_ZONES, type GceSettings } from './sim/context.ts';
export type { ImageInput, SimImage } from './sim/images.ts';

/** GCE-like defaults: an e2 instance is RUNNING after ~25 s; a delete takes ~40 s. */
const GCE_LATENCIES = { bootMs: 25_000, terminateMs: 40_000, terminatedRetentionMs: 60_000 };

/** Options of startGceSimulator. Everything is optional. */
export interface GceSimulatorOptions extends EngineOptions, ListenOptions {
  /** Projects that exist (others: 404). Default ['drover-sim']. The first owns out-of-band instances. */
  readonly projects?: readonly string[];
  /** Zones served. Default DEFAULT_ZONES. */
  readonly zones?: readonly string[];
  /** Images to register at start. */
  readonly images?: readonly ImageInput[];
  /** Require `Authorization: Bearer <one of these>` (401 otherwise). Default: no check. */
  readonly bearerTokens?: readonly string[];
  /** Live instances per project and region (insert operations beyond fail with QUOTA_EXCEEDED). */
  readonly instanceQuota?: number;
  /** Running operations per project and region (beyond: 403 CONCURRENT_OPERATIONS_QUOTA_EXCEEDED). */
  readonly concurrentOperations?: number;
  /** Sim time an insert operation runs (default 5 s). */
  readonly insertOperationMs?: number;
  /** Service accounts the caller may attach (GceSettings.serviceAccounts); undefined: any well-formed email. */
  readonly serviceAccounts?: readonly string[];
}

/** A running GCE simulator. */
export interface GceSimulator {
  /** Endpoint (also serves /_sim/). */
  readonly url: string;
  readonly port: number;
  readonly projects: readonly string[];
  readonly engine: SimEngine;
  readonly world: World;
  readonly clock: SimClock;
  readonly faults: FaultInjector;
  readonly throttler: Throttler;
  readonly images: ImageStore;
  /** Mutable settings (quotas, operation durations, auth). */
  readonly settings: GceSettings;
  /** Registers an image; returns it. */
  addImage(input: ImageInput): SimImage;
  close(): Promise<void>;
}

/** Starts a GCE simulator on 127.0.0.1 (any free port unless `port` is given). */
export async function startGceSimulator(options: GceSimulatorOptions = {}): Promise<GceSimulator> {
  const projects = options.projects === undefined || options.projects.length === 0 ? ['drover-sim'] : [...options.projects];
  const engine = createEngine('gce', projectBuckets(projects), newNumericId, {
    ...options,
    latencies: { ...GCE_LATENCIES, ...options.latencies },
  });
  const settings: GceSettings = {
    bearerTokens: options.bearerTokens,
    instanceQuota: options.instanceQuota,
    concurrentOperations: options.concurrentOperations,
    insertOperationMs: options.insertOperationMs ?? 5_000,
    unreachableZones: [],
    requestIdRetentionMs: 60 * 60_000,
    serviceAccounts: options.serviceAccounts,
  };
  const ctx: GceContext = {
    engine,
    projects: new Set(projects),
    defaultProject: projects[0] ?? 'drover-sim',
    zones: options.zones ?? DEFAULT_ZONES,
    settings,
    images: new ImageStore(),
    operations: new OperationStore(),
  };
  for (const image of options.images ?? []) ctx.images.put(image, engine.clock.now());
  const server = await startSimServer(engine, gceApi(ctx), options);
  return {
    url: server.url,
    port: server.port,
    projects,
    engine,
    world: engine.world,
    clock: engine.clock,
    faults: engine.faults,
    throttler: engine.throttler,
    images: ctx.images,
    settings,
    addImage: (input) => ctx.images.put(input, engine.clock.now()),
    close: () => server.close(),
  };
}

/**
 * A fleet artifact id as an image path the simulator can register: full paths and self links as
 * they are, `global/images/NAME` and bare `NAME` in `project`; undefined for families or malformed ids.
 */
export function seedImagePath(id: string, project: string): string | undefined {
  if (id.includes('/images/family/')) return undefined;
  const path =
    id.startsWith('projects/') || id.startsWith('https://')
      ? id
      : `projects/${project}/global/images/${id.replace(/^global\/images\//, '')}`;
  return parseImagePath(path) === undefined ? undefined : path;
}

/** Parses `projects/P/global/images/NAME[,KEY=VALUE…]` into an image with labels. */
export function parseImageArg(arg: string): ImageInput {
  const { head: path, pairs: labels } = splitKeyValues(arg);
  return { path, labels };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...SIM_FLAGS,
      project: { type: 'string', multiple: true, default: [] },
      image: { type: 'string', multiple: true, default: [] },
    },
  });
  const sim = await startGceSimulator({
    ...commonSimFlags(values),
    projects: values.project,
    images: values.image.map(parseImageArg),
  });
  serveUntilSignal(sim, `gce simulator listening on ${sim.url} projects=${sim.projects.join(',')} control=${sim.url}/_sim/`);
}

if (import.meta.main) await runSimMain(main);
