/**
 * Tamper detection: the pure comparison of an instance's launch facts, as its cloud reports them,
 * with the facts its own template (the one recorded for its template hash) would give. The result
 * is the names of the fields that differ, never their values (user data and metadata may be
 * secret); the planner turns a non-empty result into drift reason `drift-modified` (replace) or
 * the condition `Tampered=True` (report). Semantics of the facts: src/contract/launch-facts.ts.
 */
import type { DesiredGroup } from '../contract/fleet.ts';
import type { LaunchFacts } from '../contract/launch-facts.ts';
import type { Condition, PlannedInstance } from './types.ts';

/** The scalar facts compared as they are, in the order they are reported. */
const SCALARS = [
  'machineType',
  'cores',
  'memoryMiB',
  'image',
  'subnet',
  'network',
  'instanceProfile',
  'metadataOptions',
  'userData',
  'metadata',
] as const satisfies readonly (keyof LaunchFacts)[];

/**
 * The fields of `observed` that differ from `expected`, sorted, each named once: a scalar field
 * set on both sides and different; `securityGroups` as a set; `disks` as an ordered list; `tags.KEY`
 * for each tag of the template missing or different on the instance (tags the template does not
 * name are never compared); each observed seal whose value is not the one recorded at creation;
 * `pending.FIELD` for each change the cloud holds pending. A field undefined on either side is not
 * compared. Pure.
 */
export function modifiedFields(expected: LaunchFacts, observed: LaunchFacts): string[] {
  const out: string[] = [];
  for (const key of SCALARS) {
    const want = expected[key];
    const got = observed[key];
    if (want !== undefined && got !== undefined && want !== got) out.push(key);
  }
  if (differ(sorted(expected.securityGroups), sorted(observed.securityGroups))) out.push('securityGroups');
  if (differ(expected.disks, observed.disks)) out.push('disks');
  out.push(...tagChanges(expected.tags, observed.tags));
  for (const [name, seal] of Object.entries(observed.seals ?? {})) {
    if (seal.recorded !== undefined && seal.now !== seal.recorded) out.push(name);
  }
  for (const field of observed.pending ?? []) out.push(`pending.${field}`);
  return [...new Set(out)].sort();
}

function sorted(list: readonly string[] | undefined): readonly string[] | undefined {
  return list === undefined ? undefined : [...list].sort();
}

/** Two lists, both known, that are not equal element by element. */
function differ(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.length !== b.length || a.some((value, i) => value !== b[i]);
}

function tagChanges(want: LaunchFacts['tags'], got: LaunchFacts['tags']): string[] {
  if (want === undefined || got === undefined) return [];
  return Object.keys(want)
    .filter((key) => !Object.hasOwn(got, key) || got[key] !== want[key])
    .map((key) => `tags.${key}`);
}

/** An instance found modified: its id and the fields that differ (names only). */
export interface Modification {
  readonly id: string;
  readonly fields: readonly string[];
}

/** Most instances a Tampered message names; the rest are counted. */
const NAMED_IN_MESSAGE = 10;

/**
 * The message of `Tampered=True`: every modified instance by id with its fields (the first
 * {@link NAMED_IN_MESSAGE}, sorted by id, then a count), never a value.
 */
export function tamperMessage(found: readonly Modification[]): string {
  const byId = [...found].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const named = byId.slice(0, NAMED_IN_MESSAGE).map((m) => `${m.id} (${m.fields.join(', ')})`);
  const more = byId.length > NAMED_IN_MESSAGE ? ` and ${byId.length - NAMED_IN_MESSAGE} more` : '';
  const noun = found.length === 1 ? 'instance was' : 'instances were';
  return `${found.length} ${noun} modified out of band: ${named.join('; ')}${more}; drift.modified is report, so nothing is replaced`;
}

/** The group's `drift.modified` (replace when the group was built without one). */
export function modifiedPolicy(group: DesiredGroup): 'replace' | 'report' {
  return group.drift?.modified ?? 'replace';
}

/** The instance was found modified (its `modified` fields are not empty). */
export function isModified(inst: PlannedInstance): boolean {
  return inst.modified !== undefined && inst.modified.length > 0;
}

/**
 * `Tampered=True` (reason Modified) when the group only reports modified instances and some of its
 * live instances are; undefined otherwise (replaced instances show as drift-modified deletes).
 */
export function tamperedCondition(group: DesiredGroup, live: readonly PlannedInstance[]): Condition | undefined {
  if (modifiedPolicy(group) !== 'report') return undefined;
  const found = live.filter(isModified).map((inst) => ({ id: inst.id, fields: inst.modified ?? [] }));
  if (found.length === 0) return undefined;
  return { type: 'Tampered', status: 'True', reason: 'Modified', message: tamperMessage(found) };
}

/** Some live instance is modified and the group replaces such instances: it is not converged. */
export function replacesModified(group: DesiredGroup, live: readonly { readonly inst: PlannedInstance }[]): boolean {
  return modifiedPolicy(group) === 'replace' && live.some((v) => isModified(v.inst));
}
