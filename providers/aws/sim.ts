/**
 * The EC2 wire simulator: the EC2 Query API (Version 2016-11-15) on 127.0.0.1 — RunInstances,
 * DescribeInstances, TerminateInstances, DescribeImages, CreateTags — with AWS's XML shapes, error
 * codes, ClientToken idempotency, pagination and throttling, on the shared engine (src/sim).
 * The real @aws-sdk/client-ec2 talks to it unchanged (endpoint override + any static credentials).
 *
 * From code: `const sim = await startEc2Simulator({ factor: 100 })` → `{ url, world, … , close() }`.
 * From a shell: `node providers/aws/sim.ts --port 4566 --factor 10 --image ami-…,drover:digest=sha256:…`
 * prints one line: `ec2 simulator listening on http://127.0.0.1:4566 region=us-east-1 control=…/_sim/`.
 */
import { parseArgs } from 'node:util';
import { commonSimFlags, runSimMain, SIM_FLAGS, serveUntilSignal, splitKeyValues } from '../../src/sim/cli.ts';
import type { SimClock } from '../../src/sim/clock.ts';
import { createEngine, type EngineOptions, type SimEngine } from '../../src/sim/engine.ts';
import type { FaultInjector } from '../../src/sim/faults.ts';
import { startSimServer, type ListenOptions } from '../../src/sim/server.ts';
import type { Throttler } from '../../src/sim/token-bucket.ts';
import type { World } from '../../src/sim/world.ts';
import { EC2_BUCKETS, ec2Api } from './sim/api.ts';
import { newEc2Id, type Ec2Context, type Ec2Settings, type TokenMode } from './sim/context.ts';
import { ImageStore, type ImageInput } from './sim/images.ts';

export { EC2_BUCKETS } from './sim/api.ts';
export type { TokenMode } from './sim/context.ts';
export type { ImageInput, SimImage } from './sim/images.ts';

/** Options of startEc2Simulator. Everything is optional. */
export interface Ec2SimulatorOptions extends EngineOptions, ListenOptions {
  /** Region name; zones are REGION + a, b, c. Default us-east-1. */
  readonly region?: string;
  /** Behaviour of a reused ClientToken whose instances died. Default 'terminated-error' (EC2 since 2025). */
  readonly tokenMode?: TokenMode;
  /** AMIs to register at start. */
  readonly images?: readonly ImageInput[];
  /** Accept only these access key ids (others: AuthFailure 401). Default: any. */
  readonly accessKeys?: readonly string[];
  /** Known subnets → zone; when given, other subnets are refused. */
  readonly subnets?: Readonly<Record<string, string>>;
  /** Live-instance quota (InstanceLimitExceeded beyond). */
  readonly instanceLimit?: number;
  /** Instance types a zone does not offer: zone → types (RunInstances → Unsupported). */
  readonly unsupported?: Readonly<Record<string, readonly string[]>>;
  /** Most live instances per zone (beyond: InsufficientInstanceCapacity). Changeable via POST /_sim/ec2. */
  readonly zoneCapacity?: Readonly<Record<string, number>>;
  /** Instance profiles the caller may pass (Ec2Settings.instanceProfiles); default: any well-formed name. */
  readonly instanceProfiles?: readonly string[];
}

/** A running EC2 simulator. */
export interface Ec2Simulator {
  /** Endpoint for the SDK (`endpoint` option or AWS_ENDPOINT_URL_EC2); also serves /_sim/. */
  readonly url: string;
  readonly port: number;
  readonly region: string;
  readonly engine: SimEngine;
  readonly world: World;
  readonly clock: SimClock;
  readonly faults: FaultInjector;
  readonly throttler: Throttler;
  readonly images: ImageStore;
  /** Mutable settings (token mode, instance limit). */
  readonly settings: Ec2Settings;
  /** Registers an AMI; returns its id. */
  addImage(input: ImageInput): string;
  close(): Promise<void>;
}

/** Starts an EC2 simulator on 127.0.0.1 (any free port unless `port` is given). */
export async function startEc2Simulator(options: Ec2SimulatorOptions = {}): Promise<Ec2Simulator> {
  const region = options.region ?? 'us-east-1';
  const engine = createEngine('ec2', EC2_BUCKETS, () => newEc2Id('i'), options);
  const settings: Ec2Settings = {
    tokenMode: options.tokenMode ?? 'terminated-error',
    instanceLimit: options.instanceLimit,
    subnets: options.subnets,
    accessKeys: options.accessKeys,
    unsupported: options.unsupported ?? {},
    zoneCapacity: options.zoneCapacity ?? {},
    instanceProfiles: options.instanceProfiles,
  };
  const ownerId = '123456789012';
  const ctx: Ec2Context = {
    engine,
    region,
    ownerId,
    settings,
    images: new ImageStore(ownerId),
    tokens: new Map(),
    learnedSubnets: new Map(),
  };
  for (const image of options.images ?? []) ctx.images.put(image, engine.clock.now());
  const server = await startSimServer(engine, ec2Api(ctx), options);
  return {
    url: server.url,
    port: server.port,
    region,
    engine,
    world: engine.world,
    clock: engine.clock,
    faults: engine.faults,
    throttler: engine.throttler,
    images: ctx.images,
    settings,
    addImage: (input) => ctx.images.put(input, engine.clock.now()).id,
    close: () => server.close(),
  };
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
      region: { type: 'string', default: 'us-east-1' },
      'token-mode': { type: 'string', default: 'terminated-error' },
      image: { type: 'string', multiple: true, default: [] },
    },
  });
  const sim = await startEc2Simulator({
    ...commonSimFlags(values),
    region: values.region,
    tokenMode: values['token-mode'] === 'return-terminated' ? 'return-terminated' : 'terminated-error',
    images: values.image.map(parseImageArg),
  });
  serveUntilSignal(sim, `ec2 simulator listening on ${sim.url} region=${sim.region} control=${sim.url}/_sim/`);
}

if (import.meta.main) await runSimMain(main);
