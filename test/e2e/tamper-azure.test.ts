/** Tamper detection against the ARM simulator with the real Azure clients (tamper-scenarios.ts). */
import { AZURE_SUB, azure, azureImageOf } from '../clouds/azure.ts';
import { describeTamperScenarios } from './tamper-scenarios.ts';

const OTHER_SUBNET = `/subscriptions/${AZURE_SUB}/resourceGroups/network/providers/Microsoft.Network/virtualNetworks/vnet/subnets/other`;

describeTamperScenarios('azure', azure, [
  { title: 'VM resized', changes: { vmSize: 'Standard_D8s_v5' }, fields: ['machineType'] },
  { title: 'OS disk swapped to another image', changes: { imageId: azureImageOf(7) }, fields: ['image'] },
  { title: 'NIC moved to another subnet', changes: { subnet: OTHER_SUBNET }, fields: ['subnet'] },
  { title: "the group's tag changed", changes: { tags: { team: 'someone-else' } }, fields: ['tags.team'], secret: 'someone-else' },
  { title: 'VM re-created by hand under its name', changes: { timeCreated: '2031-01-01T00:00:00.000Z' }, fields: ['timeCreated'] },
]);
