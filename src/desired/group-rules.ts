/**
 * Rules that depend on more than one field or on the provider's type: things JSON Schema cannot
 * say. Each returns problems located at the offending field. What is particular to a provider type
 * comes from its plugin's group checks; this module only applies them.
 */
import type { ValidDocument } from './documents.ts';
import { problemAt } from './documents.ts';
import { resolveIntOrPercent } from './int-or-percent.ts';
import { ROLLOUT_DEFAULTS } from './defaults.ts';
import type { Problem } from './problems.ts';
import type { GroupSpec, Provider } from '../contract/schema-types.ts';
import type { IntOrPercent, ProviderType } from '../contract/fleet.ts';
import { providerPlugin, providerPlugins, type FieldPath } from '../../providers/registry.ts';

type GroupDocument = Extract<ValidDocument, { kind: 'VmGroup' }>;

/** Every optional group field some provider type takes, and the types (in registry order) that take it. */
const FIELD_PROVIDERS: ReadonlyMap<string, { readonly path: FieldPath; readonly types: ProviderType[] }> = fieldProviders();

function fieldProviders(): Map<string, { path: FieldPath; types: ProviderType[] }> {
  const out = new Map<string, { path: FieldPath; types: ProviderType[] }>();
  for (const plugin of providerPlugins) {
    for (const path of plugin.groupChecks.fields) {
      const key = path.join('.');
      const entry = out.get(key) ?? { path, types: [] };
      entry.types.push(plugin.type);
      out.set(key, entry);
    }
  }
  return out;
}

/**
 * Checks a group against its provider's type, with that type's plugin checks (providers/<type>/
 * group-checks.ts): fields that do not apply, required fields, zones, then placement rules.
 */
export function providerRuleProblems(group: GroupDocument, provider: Provider): Problem[] {
  const spec = group.value.spec;
  const type = provider.spec.type;
  const checks = providerPlugin(type).groupChecks;
  const checked = { name: provider.metadata.name, spec: provider.spec };
  const problems: Problem[] = [];
  for (const { path, types } of FIELD_PROVIDERS.values()) {
    if (valueAt(spec, path) !== undefined && !types.includes(type)) {
      problems.push(
        problemAt(
          group,
          ['spec', ...path],
          'rule.notForProvider',
          `'spec.${path.join('.')}' does not apply to ${type} providers (only ${types.join(', ')}); remove it`,
        ),
      );
    }
  }
  for (const path of checks.required) {
    if (valueAt(spec, path) === undefined) {
      problems.push(
        problemAt(
          group,
          ['spec'],
          'rule.requiredForProvider',
          `'spec.${path.join('.')}' is required for ${type} providers (provider '${provider.metadata.name}')`,
        ),
      );
    }
  }
  (spec.placement?.zones ?? []).forEach((zone, i) => {
    const message = checks.zoneProblem(zone, checked);
    if (message !== undefined) problems.push(problemAt(group, ['spec', 'placement', 'zones', String(i)], 'rule.badZone', message));
  });
  for (const finding of checks.placement?.(spec, checked) ?? [])
    problems.push(problemAt(group, ['spec', ...finding.path], finding.code, finding.message));
  return problems;
}

/** Rollout settings that contradict each other or the strategy. */
export function rolloutRuleProblems(group: GroupDocument): Problem[] {
  const spec: GroupSpec = group.value.spec;
  const rollout = spec.rollout ?? {};
  const strategy = rollout.strategy ?? 'rolling';
  const problems: Problem[] = [];
  const at = (field: string, code: string, message: string) => problems.push(problemAt(group, ['spec', 'rollout', field], code, message));
  if (strategy === 'canary' && rollout.canary === undefined) {
    problems.push(
      problemAt(group, ['spec', 'rollout'], 'rule.canaryMissing', "strategy 'canary' needs 'spec.rollout.canary' with at least 'count'"),
    );
  }
  if (strategy !== 'canary' && rollout.canary !== undefined) {
    at(
      'canary',
      'rule.canaryUnused',
      `'spec.rollout.canary' only applies to strategy 'canary' (this group uses '${strategy}'); remove it or set strategy: canary`,
    );
  }
  if (strategy !== 'blue-green' && (rollout.keepOldSeconds ?? 0) > 0) {
    at(
      'keepOldSeconds',
      'rule.keepOldUnused',
      `'spec.rollout.keepOldSeconds' only applies to strategy 'blue-green' (this group uses '${strategy}')`,
    );
  }
  if (strategy !== 'blue-green' && bothZero(rollout.maxSurge, rollout.maxUnavailable, spec.replicas)) {
    const field = rollout.maxSurge !== undefined ? 'maxSurge' : 'maxUnavailable';
    at(
      field,
      'rule.noProgress',
      `maxSurge and maxUnavailable both resolve to 0 for ${spec.replicas} replicas, so a rollout could never make progress; allow at least 1 surge or 1 unavailable`,
    );
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
