/**
 * Rules that depend on more than one field or on the provider's type: things JSON Schema cannot
 * say. Each returns problems located at the offending field.
 */
import type { ValidDocument } from './documents.ts';
import { problemAt } from './documents.ts';
import { resolveIntOrPercent } from './int-or-percent.ts';
import { ROLLOUT_DEFAULTS } from './defaults.ts';
import type { Problem } from './problems.ts';
import type { GroupSpec, Provider } from './schema-types.ts';
import type { IntOrPercent, ProviderType } from './types.ts';

type GroupDocument = Extract<ValidDocument, { kind: 'VmGroup' }>;

/** Which provider types each optional group field applies to. */
const FIELD_PROVIDERS: readonly { readonly path: readonly string[]; readonly types: readonly ProviderType[] }[] = [
  { path: ['machine', 'type'], types: ['aws', 'gcp', 'azure'] },
  { path: ['machine', 'cores'], types: ['proxmox'] },
  { path: ['machine', 'memoryMiB'], types: ['proxmox'] },
  { path: ['placement', 'securityGroups'], types: ['aws'] },
  { path: ['placement', 'instanceProfile'], types: ['aws'] },
  { path: ['placement', 'subnet'], types: ['aws', 'gcp', 'azure'] },
  { path: ['placement', 'subnets'], types: ['aws'] },
  { path: ['placement', 'network'], types: ['gcp', 'proxmox'] },
  { path: ['placement', 'ipConfig'], types: ['proxmox'] },
  { path: ['placement', 'sshUser'], types: ['proxmox'] },
  { path: ['placement', 'sshKeys'], types: ['gcp', 'proxmox'] },
];

/** Fields a provider type cannot do without. */
const REQUIRED_BY_TYPE: Readonly<Record<ProviderType, readonly (readonly string[])[]>> = {
  aws: [['machine', 'type']],
  gcp: [['machine', 'type'], ['placement', 'zones']],
  azure: [['machine', 'type'], ['placement', 'subnet']],
  proxmox: [],
};

const AZURE_ZONES = new Set(['1', '2', '3']);

/** Checks a group against its provider's type. */
export function providerRuleProblems(group: GroupDocument, provider: Provider): Problem[] {
  const spec = group.value.spec;
  const type = provider.spec.type;
  const problems: Problem[] = [];
  for (const { path, types } of FIELD_PROVIDERS) {
    if (valueAt(spec, path) !== undefined && !types.includes(type)) {
      problems.push(problemAt(group, ['spec', ...path], 'rule.notForProvider',
        `'spec.${path.join('.')}' does not apply to ${type} providers (only ${types.join(', ')}); remove it`));
    }
  }
  for (const path of REQUIRED_BY_TYPE[type]) {
    if (valueAt(spec, path) === undefined) {
      problems.push(problemAt(group, ['spec'], 'rule.requiredForProvider',
        `'spec.${path.join('.')}' is required for ${type} providers (provider '${provider.metadata.name}')`));
    }
  }
  problems.push(...zoneProblems(group, provider));
  if (type === 'aws') problems.push(...awsSubnetProblems(group, provider));
  if (type === 'gcp') problems.push(...gceSubnetworkProblems(group));
  return problems;
}

/**
 * AWS subnets are zonal: one `subnet` serves exactly one zone, `subnets` maps each zone to its own
 * subnet (its keys are the zones when `zones` is omitted, and must match `zones` when both are
 * given), and a subnet id cannot serve two zones. What a subnet's zone really is only EC2 knows
 * (`drover plan` asks DescribeSubnets).
 */
function awsSubnetProblems(group: GroupDocument, provider: Provider): Problem[] {
  const placement = group.value.spec.placement ?? {};
  const { zones, subnet, subnets } = placement;
  const out: Problem[] = [];
  const at = (path: readonly string[], code: string, message: string) => out.push(problemAt(group, ['spec', 'placement', ...path], code, message));
  if (zones === undefined && subnets === undefined) {
    out.push(problemAt(group, ['spec'], 'rule.requiredForProvider', `'spec.placement.zones' or 'spec.placement.subnets' is required for aws providers (provider '${provider.metadata.name}')`));
  }
  if (subnet !== undefined && subnets !== undefined) at(['subnet'], 'rule.subnetAndSubnets', "give either 'subnet' (one zone) or 'subnets' (a subnet per zone), not both");
  else if (subnet !== undefined && (zones?.length ?? 0) !== 1) {
    const listed = zones ?? [];
    at(['subnet'], 'rule.subnetZones', `an AWS subnet lives in one availability zone, so '${subnet}' cannot serve ${listed.length === 0 ? 'a group without zones' : `zones ${listed.join(', ')}`}; give one subnet per zone instead: ${subnetsExample(listed.length === 0 ? [`${(provider.spec as { region: string }).region}a`] : listed)}`);
  }
  if (subnets === undefined) return out;
  const keys = Object.keys(subnets);
  zones?.forEach((zone, i) => {
    if (!Object.hasOwn(subnets, zone)) at(['zones', String(i)], 'rule.zoneWithoutSubnet', `zone '${zone}' has no subnet in 'spec.placement.subnets'; add '${zone}: subnet-…' there or remove the zone`);
  });
  for (const key of keys) {
    const message = zoneMessage(key, provider);
    if (message !== undefined) at(['subnets', key], 'rule.badZone', message);
    else if (zones !== undefined && !zones.includes(key)) at(['subnets', key], 'rule.subnetWithoutZone', `'subnets' has a subnet for zone '${key}', which 'zones' does not list; add the zone to 'zones', remove this entry, or omit 'zones' (it defaults to the subnets' zones)`);
  }
  const byId = Map.groupBy(keys, (key) => subnets[key] as string);
  for (const [id, shared] of byId) {
    if (shared.length > 1) at(['subnets', shared[1] as string], 'rule.subnetInTwoZones', `subnet '${id}' is given for zones ${shared.join(' and ')}, but an AWS subnet lives in one availability zone; give each zone its own subnet`);
  }
  return out;
}

/** `subnets: { a: subnet-…, b: subnet-… }` for the first two zones, as a fix to quote. */
function subnetsExample(zones: readonly string[]): string {
  return `subnets: { ${zones.slice(0, 2).map((z) => `${z}: subnet-…`).join(', ')} }`;
}

/**
 * A GCE subnetwork is regional: `projects/P/regions/R/subnetworks/N` can serve only zones of R
 * (GCE refuses an insert in another region's zone).
 */
function gceSubnetworkProblems(group: GroupDocument): Problem[] {
  const { zones, subnet } = group.value.spec.placement ?? {};
  const region = subnet === undefined ? undefined : /(?:^|\/)regions\/([a-z]+-[a-z]+[0-9]+)\/subnetworks\//.exec(subnet)?.[1];
  if (region === undefined) return [];
  const out: Problem[] = [];
  zones?.forEach((zone, i) => {
    if (!zone.startsWith(`${region}-`)) {
      out.push(problemAt(group, ['spec', 'placement', 'zones', String(i)], 'rule.zoneOutsideSubnetRegion',
        `zone '${zone}' is not in region ${region} of subnetwork '${subnet}' (a GCE subnetwork is regional); use zones of ${region} (e.g. ${region}-b) or a subnetwork of the zone's region`));
    }
  });
  return out;
}

function zoneProblems(group: GroupDocument, provider: Provider): Problem[] {
  const zones = group.value.spec.placement?.zones ?? [];
  const out: Problem[] = [];
  zones.forEach((zone, i) => {
    const message = zoneMessage(zone, provider);
    if (message !== undefined) out.push(problemAt(group, ['spec', 'placement', 'zones', String(i)], 'rule.badZone', message));
  });
  return out;
}

function zoneMessage(zone: string, provider: Provider): string | undefined {
  const spec = provider.spec;
  if (spec.type === 'aws' && !(zone.startsWith(spec.region) && /^[a-z]$/.test(zone.slice(spec.region.length)))) {
    return `zone '${zone}' is not in region ${spec.region} of provider '${provider.metadata.name}' (expected e.g. ${spec.region}a)`;
  }
  if (spec.type === 'gcp' && !/^[a-z]+-[a-z]+[0-9]+-[a-z]$/.test(zone)) {
    return `zone '${zone}' is not a GCE zone name (expected e.g. europe-west1-b)`;
  }
  if (spec.type === 'azure' && !AZURE_ZONES.has(zone)) {
    return `zone '${zone}' is not an Azure availability zone (use '1', '2' or '3', or omit zones)`;
  }
  if (spec.type === 'proxmox' && !spec.nodes.includes(zone)) {
    return `node '${zone}' is not one of provider '${provider.metadata.name}' nodes (${spec.nodes.join(', ')})`;
  }
  return undefined;
}

/** Rollout settings that contradict each other or the strategy. */
export function rolloutRuleProblems(group: GroupDocument): Problem[] {
  const spec: GroupSpec = group.value.spec;
  const rollout = spec.rollout ?? {};
  const strategy = rollout.strategy ?? 'rolling';
  const problems: Problem[] = [];
  const at = (field: string, code: string, message: string) => problems.push(problemAt(group, ['spec', 'rollout', field], code, message));
  if (strategy === 'canary' && rollout.canary === undefined) {
    problems.push(problemAt(group, ['spec', 'rollout'], 'rule.canaryMissing', "strategy 'canary' needs 'spec.rollout.canary' with at least 'count'"));
  }
  if (strategy !== 'canary' && rollout.canary !== undefined) {
    at('canary', 'rule.canaryUnused', `'spec.rollout.canary' only applies to strategy 'canary' (this group uses '${strategy}'); remove it or set strategy: canary`);
  }
  if (strategy !== 'blue-green' && (rollout.keepOldSeconds ?? 0) > 0) {
    at('keepOldSeconds', 'rule.keepOldUnused', `'spec.rollout.keepOldSeconds' only applies to strategy 'blue-green' (this group uses '${strategy}')`);
  }
  if (strategy !== 'blue-green' && bothZero(rollout.maxSurge, rollout.maxUnavailable, spec.replicas)) {
    const field = rollout.maxSurge !== undefined ? 'maxSurge' : 'maxUnavailable';
    at(field, 'rule.noProgress', `maxSurge and maxUnavailable both resolve to 0 for ${spec.replicas} replicas, so a rollout could never make progress; allow at least 1 surge or 1 unavailable`);
  }
  return problems;
}

function bothZero(maxSurge: IntOrPercent | undefined, maxUnavailable: IntOrPercent | undefined, replicas: number): boolean {
  if (replicas === 0) return false;
  const surge = resolveIntOrPercent(maxSurge ?? (ROLLOUT_DEFAULTS['maxSurge'] as IntOrPercent), replicas, 'ceil');
  const unavailable = resolveIntOrPercent(maxUnavailable ?? (ROLLOUT_DEFAULTS['maxUnavailable'] as IntOrPercent), replicas, 'floor');
  return surge === 0 && unavailable === 0;
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
