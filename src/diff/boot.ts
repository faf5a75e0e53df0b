/**
 * Seconds from launch to ready, per provider type: the estimate's only assumption about a cloud.
 * Typical figures for a small Linux image with cloud-init (EC2 and GCE boot in well under a
 * minute, an Azure VM takes longer to provision, a Proxmox full clone copies its disk). The
 * README's "Pull requests" section lists them; `drover diff --boot-seconds` overrides them.
 */
export const DEFAULT_BOOT_SECONDS: Readonly<Record<string, number>> = Object.freeze({
  aws: 45,
  gcp: 40,
  azure: 90,
  proxmox: 60,
});

/** Boot seconds for a provider type: the override, else the table, else the slowest in the table. */
export function bootSecondsOf(type: string, overrides: Readonly<Record<string, number>> = {}): number {
  return overrides[type] ?? overrides['*'] ?? DEFAULT_BOOT_SECONDS[type] ?? Math.max(...Object.values(DEFAULT_BOOT_SECONDS));
}
