/**
 * State of one Compute Engine simulator beyond the shared world: projects, zones, images,
 * operations, requestIds, settings, and how ids and resource URLs look.
 */
import { randomBytes } from 'node:crypto';
import type { SimEngine } from '../../../src/sim/engine.ts';
import { randomHex } from '../../../src/sim/engine.ts';
import type { SimInstance } from '../../../src/sim/world.ts';
import type { ImageStore } from './images.ts';
import type { OperationStore } from './operations.ts';

/** Public base of self links, as GCE writes them whatever endpoint was called. */
export const API_BASE = 'https://www.googleapis.com/compute/v1/';

/** Zones served by default: a few real regions' zones. */
export const DEFAULT_ZONES: readonly string[] = [
  'europe-west1-b',
  'europe-west1-c',
  'europe-west1-d',
  'europe-west4-a',
  'europe-west4-b',
  'europe-west4-c',
  'us-central1-a',
  'us-central1-b',
  'us-central1-c',
  'us-central1-f',
  'us-east1-b',
  'us-east1-c',
  'us-east1-d',
];

/** Tunable behaviour, changeable at run time through POST /_sim/gce. */
export interface GceSettings {
  /** Accepted bearer tokens; undefined = no Authorization header needed (PassThroughClient). */
  bearerTokens: readonly string[] | undefined;
  /** Most live instances per project and region (insert operations beyond fail with QUOTA_EXCEEDED). */
  instanceQuota: number | undefined;
  /** Most running operations per project and region (beyond: 403 CONCURRENT_OPERATIONS_QUOTA_EXCEEDED). */
  concurrentOperations: number | undefined;
  /** Sim time an insert operation runs before DONE (a delete runs the world's terminateMs: gone when DONE). */
  insertOperationMs: number;
  /** Zones aggregatedList reports with an UNREACHABLE warning (a zone outage as GCE shows it). */
  unreachableZones: readonly string[];
  /** How long GCE remembers a requestId (at least 60 minutes per the API reference). */
  requestIdRetentionMs: number;
  /**
   * Service accounts the caller may attach to instances (they exist and grant it
   * iam.serviceAccounts.actAs); an insert naming another is refused as GCE does. Undefined: any.
   */
  serviceAccounts: readonly string[] | undefined;
}

/** Everything the GCE handlers share. */
export interface GceContext {
  readonly engine: SimEngine;
  /** Projects that exist; others answer 404. */
  readonly projects: ReadonlySet<string>;
  /** The project instances launched out of band belong to. */
  readonly defaultProject: string;
  readonly zones: readonly string[];
  readonly settings: GceSettings;
  readonly images: ImageStore;
  readonly operations: OperationStore;
}

/** Region of a zone: `europe-west1-b` → `europe-west1`. */
export function regionOf(zone: string): string {
  return zone.replace(/-[a-z]$/, '');
}

/** A new numeric resource id (uint64 as a decimal string, as GCE sends int64 fields). */
export function newNumericId(): string {
  const n = randomBytes(8).readBigUInt64BE() % 9_000_000_000_000_000_000n;
  return String(1_000_000_000_000_000_000n + n);
}

/** A new operation name in GCE's format: `operation-<ms>-<hex13>-<hex8>-<hex8>`. */
export function newOperationName(now: number): string {
  return `operation-${now}-${randomHex(13)}-${randomHex(8)}-${randomHex(8)}`;
}

/** RFC 3339 timestamp as GCE writes it (with a -07:00 style offset; UTC here). */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+00:00');
}

/** Self link of a zonal resource. */
export function zonalLink(project: string, zone: string, collection: string, name?: string): string {
  return `${API_BASE}projects/${project}/zones/${zone}/${collection}${name === undefined ? '' : `/${name}`}`;
}

/** The project a world instance belongs to (out-of-band instances: the default project). */
export function projectOf(ctx: GceContext, instance: SimInstance): string {
  const project = instance.attributes['project'];
  return typeof project === 'string' ? project : ctx.defaultProject;
}

/** Whether GCE shows the instance: deleted instances vanish (terminated in the world). */
export function isVisible(instance: SimInstance): boolean {
  return instance.state !== 'terminated';
}
