/**
 * GCE OAuth scopes of an instance's service account: gcloud's short aliases and their URLs, and
 * the canonical form the template carries (URLs, sorted, no duplicates), so writing an alias or its
 * URL is one template hash. Pure and light (the group checks and the launch path use it).
 */
import type { Placement } from '../../src/contract/fleet.ts';

const AUTH = 'https://www.googleapis.com/auth/';

/** gcloud's single-scope aliases (`gcloud compute instances create --scopes`), as the schema lists them. */
export const SCOPE_ALIASES: Readonly<Record<string, string>> = {
  bigquery: `${AUTH}bigquery`,
  'cloud-platform': `${AUTH}cloud-platform`,
  'cloud-source-repos': `${AUTH}source.full_control`,
  'cloud-source-repos-ro': `${AUTH}source.read_only`,
  'compute-ro': `${AUTH}compute.readonly`,
  'compute-rw': `${AUTH}compute`,
  datastore: `${AUTH}datastore`,
  'logging-write': `${AUTH}logging.write`,
  monitoring: `${AUTH}monitoring`,
  'monitoring-read': `${AUTH}monitoring.read`,
  'monitoring-write': `${AUTH}monitoring.write`,
  pubsub: `${AUTH}pubsub`,
  'service-control': `${AUTH}servicecontrol`,
  'service-management': `${AUTH}service.management.readonly`,
  'sql-admin': `${AUTH}sqlservice.admin`,
  'storage-full': `${AUTH}devstorage.full_control`,
  'storage-ro': `${AUTH}devstorage.read_only`,
  'storage-rw': `${AUTH}devstorage.read_write`,
  taskqueue: `${AUTH}taskqueue`,
  trace: `${AUTH}trace.append`,
  'userinfo-email': `${AUTH}userinfo.email`,
};

/** The scope a service account gets when the group names none: access is then its IAM roles'. */
export const DEFAULT_SCOPE = SCOPE_ALIASES['cloud-platform'] as string;

/** Scope URLs for `scopes` (aliases expanded), sorted and without duplicates. */
export function scopeUrls(scopes: readonly string[]): string[] {
  return [...new Set(scopes.map((s) => SCOPE_ALIASES[s] ?? s))].sort();
}

/**
 * The placement as the template carries it: with a service account, its scopes as sorted URLs
 * (default [cloud-platform], written out so that writing the default changes no hash).
 */
export function canonicalGcpPlacement(placement: Placement): Placement {
  if (placement.serviceAccount === undefined) return placement;
  return { ...placement, scopes: scopeUrls(placement.scopes ?? [DEFAULT_SCOPE]) as Placement['scopes'] };
}
