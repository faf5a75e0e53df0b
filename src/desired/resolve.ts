/**
 * Cross-document checks (exactly one Fleet, group → provider, group → image, image → artifact for
 * that provider) and normalization into the typed DesiredState with every default applied.
 */
import {
  DRIFT_DEFAULTS,
  FLEET_DEFAULTS,
  GROUP_DEFAULTS,
  GUARD_DEFAULTS,
  HEALTH_DEFAULTS,
  HTTP_PROBE_DEFAULTS,
  ROLLOUT_DEFAULTS,
} from './defaults.ts';
import { didYouMean } from './did-you-mean.ts';
import type { DocumentIndex, ValidDocument } from './documents.ts';
import { positionOf, problemAt } from './documents.ts';
import { providerRuleProblems, rolloutRuleProblems } from './group-rules.ts';
import type { Problem } from './problems.ts';
import type { Health, Rollout } from '../contract/schema-types.ts';
import { templateHash } from './template-hash.ts';
import { userDataRuleProblems } from './user-data-rules.ts';
import { providerPlugin } from '../../providers/registry.ts';
import type {
  DesiredGroup,
  DesiredState,
  FleetSettings,
  HealthPolicy,
  ImageConfig,
  LaunchTemplate,
  ProviderConfig,
  RolloutPolicy,
  SourceRef,
} from '../contract/fleet.ts';

type Doc<K extends ValidDocument['kind']> = Extract<ValidDocument, { kind: K }>;

/** Checks references and builds the desired state; returns undefined when any problem was found. */
export function resolveDesiredState(index: DocumentIndex, problems: Problem[]): DesiredState | undefined {
  const before = problems.length;
  const fleet = resolveFleet(index, problems);
  imageArtifactProblems(index, problems);
  const groups: Record<string, DesiredGroup> = {};
  for (const [name, group] of [...index.groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const resolved = resolveGroup(group, index, problems);
    if (resolved) groups[name] = resolved;
  }
  if (problems.length > before || fleet === undefined) return undefined;
  return deepFreeze({
    fleet,
    providers: mapValues(index.providers, providerConfig),
    images: mapValues(index.images, imageConfig),
    groups,
  });
}

function resolveFleet(index: DocumentIndex, problems: Problem[]): FleetSettings | undefined {
  const [first, ...extra] = index.fleets;
  if (first === undefined) {
    problems.push({
      file: '',
      line: 0,
      col: 0,
      path: '',
      code: 'ref.noFleet',
      message:
        'no Fleet document: add one (kind: Fleet, metadata.name: <fleet id>); its name is stamped on every instance drover creates and bounds what drover may delete',
    });
    return undefined;
  }
  for (const other of extra) {
    const where = positionOf(first, ['metadata', 'name']);
    problems.push(
      problemAt(
        other,
        ['kind'],
        'ref.duplicateFleet',
        `a repository has exactly one Fleet document; another is at ${first.parsed.file}:${where.line}:${where.col}`,
      ),
    );
  }
  const spec = first.value.spec ?? {};
  const guard = spec.deletionGuard ?? {};
  return {
    id: first.value.metadata.name,
    prune: spec.prune ?? (FLEET_DEFAULTS['prune'] as boolean),
    deletionGuard: {
      maxDeletePercent: guard.maxDeletePercent ?? (GUARD_DEFAULTS['maxDeletePercent'] as number),
      allowGroupDeletion: [...(guard.allowGroupDeletion ?? [])].sort(),
      allowMassDeletion: guard.allowMassDeletion ?? (GUARD_DEFAULTS['allowMassDeletion'] as boolean),
    },
    source: sourceOf(first),
  };
}

function imageArtifactProblems(index: DocumentIndex, problems: Problem[]): void {
  for (const image of index.images.values()) {
    for (const [providerName, artifact] of Object.entries(image.value.spec.artifacts)) {
      const path = ['spec', 'artifacts', providerName];
      const provider = index.providers.get(providerName);
      if (provider === undefined) {
        if (index.invalid.has(`Provider/${providerName}`)) continue;
        problems.push(
          problemAt(
            image,
            path,
            'ref.danglingArtifactProvider',
            `artifact for unknown provider '${providerName}'${didYouMean(providerName, index.providers.keys())}; artifacts are keyed by Provider name`,
          ),
        );
        continue;
      }
      const type = provider.value.spec.type;
      const wantsTemplate = providerPlugin(type).artifact === 'template';
      if (wantsTemplate && artifact.template === undefined) {
        problems.push(
          problemAt(
            image,
            path,
            'ref.artifactKind',
            `provider '${providerName}' is ${type}: its artifact needs 'template' (the template VMID), not 'id'`,
          ),
        );
      } else if (!wantsTemplate && artifact.id === undefined) {
        problems.push(
          problemAt(
            image,
            path,
            'ref.artifactKind',
            `provider '${providerName}' is ${type}: its artifact needs 'id' (the image id), not 'template'`,
          ),
        );
      }
    }
  }
}

function resolveGroup(group: Doc<'VmGroup'>, index: DocumentIndex, problems: Problem[]): DesiredGroup | undefined {
  const spec = group.value.spec;
  const provider = index.providers.get(spec.provider);
  const image = index.images.get(spec.image);
  const before = problems.length;
  if (provider === undefined && !index.invalid.has(`Provider/${spec.provider}`)) {
    problems.push(
      problemAt(
        group,
        ['spec', 'provider'],
        'ref.danglingProvider',
        `provider '${spec.provider}' is not defined${didYouMean(spec.provider, index.providers.keys())}; add a Provider document with that name`,
      ),
    );
  }
  if (image === undefined && !index.invalid.has(`Image/${spec.image}`)) {
    problems.push(
      problemAt(
        group,
        ['spec', 'image'],
        'ref.danglingImage',
        `image '${spec.image}' is not defined${didYouMean(spec.image, index.images.keys())}; add an Image document with that name`,
      ),
    );
  }
  if (provider && image && !Object.hasOwn(image.value.spec.artifacts, spec.provider)) {
    problems.push(
      problemAt(
        group,
        ['spec', 'image'],
        'ref.missingArtifact',
        `image '${spec.image}' has no artifact for provider '${spec.provider}'; add spec.artifacts.${spec.provider} to the image`,
      ),
    );
  }
  if (provider) problems.push(...providerRuleProblems(group, provider.value));
  problems.push(...rolloutRuleProblems(group));
  problems.push(...userDataRuleProblems(group));
  if (problems.length > before || !provider || !image) return undefined;
  return buildGroup(group, provider, image);
}

function buildGroup(group: Doc<'VmGroup'>, provider: Doc<'Provider'>, image: Doc<'Image'>): DesiredGroup {
  const spec = group.value.spec;
  const { zones, ...placement } = spec.placement ?? {};
  const providerSpec = provider.value.spec;
  const plugin = providerPlugin(providerSpec.type);
  const template: LaunchTemplate = {
    provider: spec.provider,
    imageDigest: image.value.spec.digest,
    artifact: image.value.spec.artifacts[spec.provider]!,
    machine: spec.machine ?? {},
    placement: plugin.groupChecks.canonicalPlacement?.(sortSets(placement)) ?? sortSets(placement),
    userData: spec.userData,
    disks: spec.disks ?? [],
    tags: spec.tags ?? {},
  };
  const defaultZones = plugin.defaultZones(providerSpec);
  return {
    name: group.value.metadata.name,
    provider: spec.provider,
    providerType: providerSpec.type,
    image: spec.image,
    imageDigest: image.value.spec.digest,
    replicas: spec.replicas,
    suspend: spec.suspend ?? (GROUP_DEFAULTS['suspend'] as boolean),
    // AWS `subnets` (a subnet per zone) name the zones when `zones` is omitted: sorted, so the
    // order of a mapping's keys (which YAML does not promise to keep) never changes the spread.
    zones: [...(zones ?? (placement.subnets === undefined ? defaultZones : Object.keys(placement.subnets).sort()))],
    template,
    templateHash: templateHash(template),
    health: healthPolicy(spec.health),
    rollout: rolloutPolicy(spec.rollout),
    drift: { modified: spec.drift?.modified ?? (DRIFT_DEFAULTS['modified'] as 'replace') },
    source: sourceOf(group),
  };
}

/** Lists that are really sets are sorted so their order never changes the template hash. */
function sortSets<T extends { securityGroups?: string[]; sshKeys?: string[] }>(placement: T): T {
  return {
    ...placement,
    ...(placement.securityGroups ? { securityGroups: [...placement.securityGroups].sort() } : {}),
    ...(placement.sshKeys ? { sshKeys: [...placement.sshKeys].sort() } : {}),
  };
}

function healthPolicy(health: Health | undefined): HealthPolicy {
  const timing = {
    gracePeriodSeconds: health?.gracePeriodSeconds ?? (HEALTH_DEFAULTS['gracePeriodSeconds'] as number),
    failureThreshold: health?.failureThreshold ?? (HEALTH_DEFAULTS['failureThreshold'] as number),
    periodSeconds: health?.periodSeconds ?? (HEALTH_DEFAULTS['periodSeconds'] as number),
  };
  if (health?.http) {
    const { port, path, scheme } = health.http;
    return {
      ...timing,
      probe: {
        kind: 'http',
        port,
        path: path ?? (HTTP_PROBE_DEFAULTS['path'] as string),
        scheme: scheme ?? (HTTP_PROBE_DEFAULTS['scheme'] as 'http'),
      },
    };
  }
  if (health?.tcp) return { ...timing, probe: { kind: 'tcp', port: health.tcp.port } };
  return { ...timing, probe: { kind: 'none' } };
}

function rolloutPolicy(rollout: Rollout | undefined): RolloutPolicy {
  const r = { ...ROLLOUT_DEFAULTS, ...rollout } as Required<Rollout>;
  return {
    strategy: r.strategy,
    maxSurge: r.maxSurge,
    maxUnavailable: r.maxUnavailable,
    minReadySeconds: r.minReadySeconds,
    progressDeadlineSeconds: r.progressDeadlineSeconds,
    autoRollback: r.autoRollback,
    pauseBetweenBatchesSeconds: r.pauseBetweenBatchesSeconds,
    keepOldSeconds: r.keepOldSeconds,
    canary:
      rollout?.canary === undefined
        ? undefined
        : {
            count: rollout.canary.count,
            promote: rollout.canary.promote,
            bakeSeconds: rollout.canary.bakeSeconds,
          },
  };
}

function providerConfig(provider: Doc<'Provider'>): ProviderConfig {
  return { name: provider.value.metadata.name, type: provider.value.spec.type, spec: provider.value.spec, source: sourceOf(provider) };
}

function imageConfig(image: Doc<'Image'>): ImageConfig {
  return {
    name: image.value.metadata.name,
    digest: image.value.spec.digest,
    artifacts: image.value.spec.artifacts,
    source: sourceOf(image),
  };
}

function sourceOf(document: ValidDocument): SourceRef {
  const { line, col } = positionOf(document, []);
  return { file: document.parsed.file, line, col };
}

function mapValues<V, R>(map: Map<string, V>, fn: (value: V) => R): Record<string, R> {
  const out: Record<string, R> = {};
  for (const [key, value] of [...map].sort(([a], [b]) => (a < b ? -1 : 1))) out[key] = fn(value);
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
