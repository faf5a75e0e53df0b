/**
 * What a VmGroup on an Azure provider must satisfy beyond the schema: its fields (a subnet is
 * required: a NIC needs one) and availability zones '1'–'3'. Pure and light.
 */
import type { AzureProviderSpec } from '../../src/contract/fleet.ts';
import type { GroupChecks } from '../plugin.ts';

const ZONES = new Set(['1', '2', '3']);

/** Group checks of the Azure plugin. */
export const azureGroupChecks: GroupChecks<AzureProviderSpec> = {
  fields: [
    ['machine', 'type'],
    ['placement', 'subnet'],
  ],
  required: [
    ['machine', 'type'],
    ['placement', 'subnet'],
  ],
  zoneProblem: (zone) =>
    ZONES.has(zone) ? undefined : `zone '${zone}' is not an Azure availability zone (use '1', '2' or '3', or omit zones)`,
};
