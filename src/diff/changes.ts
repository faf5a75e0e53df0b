/**
 * What differs between two desired states, document by document: groups (launch template field by
 * field, replicas, rollout, health, suspend, zones, drift, added, removed), Providers, Images and the
 * Fleet's settings. Works on the resolved states (defaults applied), so a default written out, a
 * comment or key order is no change.
 */
import type { DesiredGroup, DesiredState } from '../contract/fleet.ts';
import { compareFields } from './fields.ts';
import type { ChangeKind, DocumentDiff, FieldChange, GroupReason } from './types.ts';

/** A group that differs, before the rollout estimate. */
export interface GroupChange {
  readonly name: string;
  readonly change: ChangeKind;
  readonly reasons: GroupReason[];
  readonly before: DesiredGroup | undefined;
  readonly after: DesiredGroup | undefined;
  readonly template: FieldChange[];
  readonly settings: FieldChange[];
}

/**
 * Every group that differs, sorted by name. A group whose Provider changed its scope (type or spec:
 * region, project, resource group, nodes) differs too: drover then lists and launches in the new
 * scope and no longer sees the instances of the old one.
 */
export function groupChanges(base: DesiredState, head: DesiredState): GroupChange[] {
  const names = [...new Set([...Object.keys(base.groups), ...Object.keys(head.groups)])].sort();
  const moved = movedScopes(base, head);
  const out: GroupChange[] = [];
  for (const name of names) {
    const change = withScope(groupChange(name, base.groups[name], head.groups[name]), base.groups[name], head.groups[name], moved);
    if (change !== undefined) out.push(change);
  }
  return out;
}

/** Provider names whose type or spec differs between the revisions, with the fields that differ. */
export function movedScopes(base: DesiredState, head: DesiredState): Map<string, FieldChange[]> {
  const out = new Map<string, FieldChange[]>();
  for (const [name, p] of Object.entries(head.providers)) {
    const before = base.providers[name];
    if (before === undefined) continue;
    const fields = compareFields({ type: before.type, spec: before.spec }, { type: p.type, spec: p.spec }, `providers.${name}`);
    if (fields.length > 0) out.set(name, fields);
  }
  return out;
}

/** A group on the same provider name whose scope moved: listed with the provider's fields. */
function withScope(
  change: GroupChange | undefined,
  before: DesiredGroup | undefined,
  after: DesiredGroup | undefined,
  moved: ReadonlyMap<string, FieldChange[]>,
): GroupChange | undefined {
  if (before === undefined || after === undefined || before.provider !== after.provider) return change;
  const fields = moved.get(after.provider);
  if (fields === undefined) return change;
  const base = change ?? { name: after.name, change: 'changed' as const, reasons: [], before, after, template: [], settings: [] };
  const reasons: GroupReason[] = base.reasons.includes('provider') ? base.reasons : [...base.reasons, 'provider'];
  return { ...base, reasons, settings: [...base.settings, ...fields] };
}

function groupChange(name: string, before: DesiredGroup | undefined, after: DesiredGroup | undefined): GroupChange | undefined {
  if (before === undefined && after === undefined) return undefined;
  if (before === undefined) return { name, change: 'added', reasons: ['added'], before, after, template: [], settings: [] };
  if (after === undefined) return { name, change: 'removed', reasons: ['removed'], before, after, template: [], settings: [] };
  const template = compareFields(before.template, after.template);
  const settings = compareFields(settingsOf(before), settingsOf(after));
  if (template.length === 0 && settings.length === 0) return undefined;
  return { name, change: 'changed', reasons: reasonsOf(template, settings), before, after, template, settings };
}

/** The fields of a group outside its launch template. */
function settingsOf(g: DesiredGroup): object {
  return { image: g.image, replicas: g.replicas, suspend: g.suspend, zones: g.zones, rollout: g.rollout, health: g.health, drift: g.drift };
}

function reasonsOf(template: readonly FieldChange[], settings: readonly FieldChange[]): GroupReason[] {
  const reasons = new Set<GroupReason>();
  for (const f of template) {
    if (f.path === 'imageDigest') reasons.add('image-digest');
    else if (f.path === 'provider') reasons.add('provider');
    else reasons.add('template');
  }
  for (const f of settings) {
    const head = f.path.split(/[.[]/)[0] ?? '';
    if (head === 'replicas' || head === 'rollout' || head === 'health' || head === 'suspend' || head === 'zones' || head === 'drift')
      reasons.add(head);
  }
  const order: GroupReason[] = ['image-digest', 'template', 'provider', 'replicas', 'rollout', 'health', 'suspend', 'zones', 'drift'];
  return order.filter((r) => reasons.has(r));
}

/** Providers, Images and the Fleet document that differ, each with the head groups that use it. */
export function documentChanges(base: DesiredState, head: DesiredState): DocumentDiff[] {
  const out: DocumentDiff[] = [];
  const fleet = compareFields(fleetOf(base), fleetOf(head));
  if (fleet.length > 0) out.push({ kind: 'Fleet', name: head.fleet.id, change: 'changed', fields: fleet, usedBy: [] });
  const users = (pick: (g: DesiredGroup) => string, name: string) =>
    Object.values(head.groups)
      .filter((g) => pick(g) === name)
      .map((g) => g.name)
      .sort();
  for (const [name, change, fields] of compareRecords(base.providers, head.providers, (p) => ({ type: p.type, spec: p.spec })))
    out.push({ kind: 'Provider', name, change, fields, usedBy: users((g) => g.provider, name) });
  for (const [name, change, fields] of compareRecords(base.images, head.images, (i) => ({ digest: i.digest, artifacts: i.artifacts })))
    out.push({ kind: 'Image', name, change, fields, usedBy: users((g) => g.image, name) });
  return out;
}

function fleetOf(s: DesiredState): object {
  return { id: s.fleet.id, prune: s.fleet.prune, deletionGuard: s.fleet.deletionGuard };
}

function compareRecords<T>(
  before: Readonly<Record<string, T>>,
  after: Readonly<Record<string, T>>,
  view: (value: T) => object,
): [string, ChangeKind, FieldChange[]][] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: [string, ChangeKind, FieldChange[]][] = [];
  for (const name of names) {
    const a = before[name];
    const b = after[name];
    const fields = compareFields(a === undefined ? undefined : view(a), b === undefined ? undefined : view(b));
    if (a === undefined) out.push([name, 'added', fields]);
    else if (b === undefined) out.push([name, 'removed', fields]);
    else if (fields.length > 0) out.push([name, 'changed', fields]);
  }
  return out;
}
