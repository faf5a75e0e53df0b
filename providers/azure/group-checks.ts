/**
 * What a VmGroup on an Azure provider must satisfy beyond the schema: its fields (a subnet is
 * required: a NIC needs one), availability zones '1'–'3', and each managed identity once. Pure and light.
 */
import type { AzureProviderSpec, Placement } from '../../src/contract/fleet.ts';
import type { GroupChecks, GroupFinding, GroupSpec } from '../plugin.ts';

const ZONES = new Set(['1', '2', '3']);

/** Group checks of the Azure plugin. */
export const azureGroupChecks: GroupChecks<AzureProviderSpec> = {
  fields: [
    ['machine', 'type'],
    ['placement', 'subnet'],
    ['placement', 'managedIdentities'],
  ],
  required: [
    ['machine', 'type'],
    ['placement', 'subnet'],
  ],
  zoneProblem: (zone) =>
    ZONES.has(zone) ? undefined : `zone '${zone}' is not an Azure availability zone (use '1', '2' or '3', or omit zones)`,
  placement: identityProblems,
  canonicalPlacement: (placement) =>
    placement.managedIdentities === undefined
      ? placement
      : { ...placement, managedIdentities: [...placement.managedIdentities].sort() as Placement['managedIdentities'] },
};

/** ARM resource ids are case-insensitive: one identity listed twice in two spellings is a mistake. */
function identityProblems(spec: GroupSpec): GroupFinding[] {
  const seen = new Map<string, number>();
  const out: GroupFinding[] = [];
  (spec.placement?.managedIdentities ?? []).forEach((id, i) => {
    const first = seen.get(id.toLowerCase());
    if (first === undefined) seen.set(id.toLowerCase(), i);
    else
      out.push({
        path: ['placement', 'managedIdentities', String(i)],
        code: 'rule.duplicateIdentity',
        message: `managed identity ${i} is identity ${first} again (Azure resource ids ignore case); list each identity once`,
      });
  });
  return out;
}
