/**
 * State of one Azure simulator beyond the shared world: subscription, location, images, network
 * interfaces, tunable settings, and the record of every VM PUT (so tests can prove drover never
 * updated an existing VM in place).
 */
import type { SimEngine } from '../../../src/sim/engine.ts';
import type { ImageStore } from './images.ts';
import type { NicStore } from './nics.ts';

/** Tunable behaviour, changeable at run time through POST /_sim/azure. */
export interface AzureSettings {
  /** Most live VMs the subscription may run (OperationNotAllowed 409 beyond); undefined = no limit. */
  vmQuota: number | undefined;
  /** Known resource groups; undefined = any name exists. Others: 404 ResourceGroupNotFound. */
  resourceGroups: readonly string[] | undefined;
  /** Known subnet resource ids (lowercase compare); undefined = any well-formed one exists. */
  subnets: readonly string[] | undefined;
  /** Accepted bearer tokens; undefined = any non-empty one. */
  tokens: readonly string[] | undefined;
  /** Sizes not offered in a zone: zone ('' = regional) → sizes (SkuNotAvailable). */
  unavailableSizes: Readonly<Record<string, readonly string[]>>;
  /** Items per page of list calls (ARM pages VMs by 50 or more; small here to exercise nextLink). */
  pageSize: number;
  /**
   * The next this-many VM DELETEs are accepted (202, the VM shows Deleting) and then fail
   * (operation Failed, InternalExecutionError) leaving the VM running with provisioningState
   * Failed, as Azure documents for a delete that cannot complete.
   */
  failDeletes: number;
  /**
   * Retry-After (seconds) on the 201/202 that starts a VM or NIC operation and on each InProgress
   * status of an operation, as ARM sends; undefined: none (the client polls at its own interval).
   */
  operationRetryAfterSeconds: number | undefined;
  /**
   * User-assigned identities that exist and the caller may assign (lowercase compare); a VM PUT
   * naming another is refused 403 LinkedAuthorizationFailed. Undefined: any well-formed id.
   */
  managedIdentities: readonly string[] | undefined;
}

/** The Retry-After header of VM and NIC operations, if the settings ask for one. */
export function operationRetryAfter(settings: AzureSettings): Record<string, string> {
  return settings.operationRetryAfterSeconds === undefined ? {} : { 'retry-after': String(settings.operationRetryAfterSeconds) };
}

/** One VM PUT as the simulator saw it. */
export interface PutRecord {
  readonly at: number;
  readonly resourceGroup: string;
  readonly name: string;
  /** Whether a live VM of that name already existed. */
  readonly existed: boolean;
  /** Whether the PUT changed an existing VM in place (what drover must never do). */
  readonly updatedInPlace: boolean;
  readonly status: number;
}

/** Everything the ARM handlers share. */
export interface AzureContext {
  readonly engine: SimEngine;
  readonly subscriptionId: string;
  readonly location: string;
  /** Resource group of instances launched without one (out of band). */
  readonly defaultResourceGroup: string;
  readonly settings: AzureSettings;
  readonly images: ImageStore;
  readonly nics: NicStore;
  readonly puts: PutRecord[];
  /**
   * How often each VM (lowercase resource id) was returned to a client, by any GET, list or PUT
   * answer or instance view: tests prove from it that drover reads no VM outside its resource group.
   */
  readonly vmReads: Map<string, number>;
}

/** Notes that an answer carried the VM `id`. */
export function noteVmRead(ctx: AzureContext, id: string): void {
  const key = id.toLowerCase();
  ctx.vmReads.set(key, (ctx.vmReads.get(key) ?? 0) + 1);
}

/** Zones Azure offers in the simulated location. */
export const ZONES: readonly string[] = ['1', '2', '3'];

/** The api-version the simulator reports on operation URLs. */
export const COMPUTE_API_VERSION = '2026-04-01';

/** Absolute URL of an async operation, on the host the client used. */
export function operationUrl(host: string, ctx: AzureContext, provider: 'Microsoft.Compute' | 'Microsoft.Network', id: string): string {
  return `https://${host}/subscriptions/${ctx.subscriptionId}/providers/${provider}/locations/${ctx.location}/operations/${id}?api-version=${COMPUTE_API_VERSION}`;
}
