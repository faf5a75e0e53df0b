/**
 * State of one EC2 simulator beyond the shared world: region, account, idempotency tokens, images,
 * settings, and how instance ids look.
 */
import type { SimEngine } from '../../../src/sim/engine.ts';
import { randomHex } from '../../../src/sim/engine.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import type { ImageStore } from './images.ts';

/**
 * What a repeated ClientToken returns once its instance is dead:
 * - 'terminated-error' (EC2 since 2025): IdempotentInstanceTerminated.
 * - 'return-terminated' (older EC2): the original reservation, with the instance shutting-down/terminated.
 * Either way, never a new instance.
 */
export type TokenMode = 'terminated-error' | 'return-terminated';

/** What EC2 remembers about a ClientToken. */
export interface TokenRecord {
  readonly token: string;
  /** Canonical parameters of the first request (same token + other parameters = mismatch). */
  readonly params: string;
  readonly reservationId: string;
  readonly instanceIds: readonly string[];
  /** Last known snapshot of each instance, for when the world has forgotten it. */
  readonly snapshots: ReadonlyMap<string, SimInstance>;
}

/** Tunable behaviour, changeable at run time through POST /_sim/ec2. */
export interface Ec2Settings {
  tokenMode: TokenMode;
  /** Most live instances the account may have (InstanceLimitExceeded beyond); undefined = no limit. */
  instanceLimit: number | undefined;
  /** Known subnets → zone; when set, other subnet ids are refused (InvalidSubnetID.NotFound). */
  subnets: Readonly<Record<string, string>> | undefined;
  /** Accepted access key ids; when set, others get AuthFailure. */
  accessKeys: readonly string[] | undefined;
  /** Instance types a zone does not offer (RunInstances there → Unsupported). */
  unsupported: Readonly<Record<string, readonly string[]>>;
  /** Most live instances a zone can hold (beyond: InsufficientInstanceCapacity, HTTP 500). */
  zoneCapacity: Readonly<Record<string, number>>;
  /**
   * Instance profiles the caller may pass (they exist and it holds iam:PassRole on their roles);
   * a launch with another is refused UnauthorizedOperation. Undefined: any well-formed name.
   */
  instanceProfiles: readonly string[] | undefined;
}

/** Everything the EC2 action handlers share. */
export interface Ec2Context {
  readonly engine: SimEngine;
  readonly region: string;
  /** Account id reported as ownerId. */
  readonly ownerId: string;
  readonly settings: Ec2Settings;
  readonly images: ImageStore;
  readonly tokens: Map<string, TokenRecord>;
  /** Without configured subnets: each subnet id met so far → the zone of its first launch (subnets.ts). */
  readonly learnedSubnets: Map<string, string>;
}

/** Zones of the simulated region: REGION + a, b, c. */
export function zonesOf(region: string): string[] {
  return ['a', 'b', 'c'].map((z) => `${region}${z}`);
}

/** A new id in EC2's long format: PREFIX-17 hex digits. */
export function newEc2Id(prefix: string): string {
  return `${prefix}-${randomHex(17)}`;
}

/** Whether `id` is a well-formed id with `prefix` (8 or 17 hex digits). */
export function isEc2Id(prefix: string, id: string): boolean {
  return new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(id);
}
