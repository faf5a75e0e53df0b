/**
 * What a VmGroup on a GCP provider must satisfy beyond the schema: GCE's fields, zone names, a
 * regional subnetwork, and scopes only with a service account. Pure and light (src/desired/group-rules.ts applies it).
 */
import type { GcpProviderSpec } from '../../src/contract/fleet.ts';
import type { GroupChecks, GroupFinding, GroupSpec } from '../plugin.ts';
import { canonicalGcpPlacement } from './scopes.ts';

/** Group checks of the GCP plugin. */
export const gcpGroupChecks: GroupChecks<GcpProviderSpec> = {
  fields: [
    ['machine', 'type'],
    ['placement', 'subnet'],
    ['placement', 'network'],
    ['placement', 'sshKeys'],
    ['placement', 'serviceAccount'],
    ['placement', 'scopes'],
  ],
  required: [
    ['machine', 'type'],
    ['placement', 'zones'],
  ],
  zoneProblem: (zone) =>
    /^[a-z]+-[a-z]+[0-9]+-[a-z]$/.test(zone) ? undefined : `zone '${zone}' is not a GCE zone name (expected e.g. europe-west1-b)`,
  placement: (spec) => [...subnetworkProblems(spec), ...scopeProblems(spec)],
  canonicalPlacement: canonicalGcpPlacement,
};

/** Scopes are the scopes of an instance's service account: without one they grant nothing. */
function scopeProblems(spec: GroupSpec): GroupFinding[] {
  const { scopes, serviceAccount } = spec.placement ?? {};
  if (scopes === undefined || serviceAccount !== undefined) return [];
  return [
    {
      path: ['placement', 'scopes'],
      code: 'rule.scopesWithoutServiceAccount',
      message:
        "'spec.placement.scopes' are the OAuth scopes of the instance's service account: set 'spec.placement.serviceAccount' (NAME@PROJECT.iam.gserviceaccount.com) or remove them",
    },
  ];
}

/**
 * A GCE subnetwork is regional: `projects/P/regions/R/subnetworks/N` can serve only zones of R
 * (GCE refuses an insert in another region's zone).
 */
function subnetworkProblems(spec: GroupSpec): GroupFinding[] {
  const { zones, subnet } = spec.placement ?? {};
  const region = subnet === undefined ? undefined : /(?:^|\/)regions\/([a-z]+-[a-z]+[0-9]+)\/subnetworks\//.exec(subnet)?.[1];
  if (region === undefined) return [];
  const out: GroupFinding[] = [];
  zones?.forEach((zone, i) => {
    if (!zone.startsWith(`${region}-`)) {
      out.push({
        path: ['placement', 'zones', String(i)],
        code: 'rule.zoneOutsideSubnetRegion',
        message: `zone '${zone}' is not in region ${region} of subnetwork '${subnet}' (a GCE subnetwork is regional); use zones of ${region} (e.g. ${region}-b) or a subnetwork of the zone's region`,
      });
    }
  });
  return out;
}
