/**
 * When many instances fail their probes at once, the probes are the likelier fault: drover's own
 * network, DNS, a firewall change, a restart into another network namespace. Kubernetes' node
 * lifecycle controller stops evicting above 55 % not-ready nodes in a zone, and load balancers
 * fail open when every target is unhealthy; drover stops replacing unhealthy instances in a scope
 * (a group, or a whole provider) where more than `thresholdPercent` of the probed running
 * instances fail, or where every probed instance of the provider fails however few (Kubernetes'
 * FullDisruption), and says so with the ProbesFailing condition, until the share falls. Pure.
 */
import type { DesiredState } from '../contract/fleet.ts';
import type { Condition, GroupStep, PlannedInstance } from '../plan/types.ts';

/** Kubernetes' --unhealthy-zone-threshold. */
export const DEFAULT_UNHEALTHY_THRESHOLD_PERCENT = 55;

/** A scope smaller than this is not judged alone: one dead instance of two must still be replaced. */
export const MIN_SCOPE = 3;

interface Share {
  failing: number;
  probed: number;
  /** Probed instances whose probe passes (ready): proof that drover's probes work in the scope. */
  passing: number;
}

interface Shares {
  readonly groups: Map<string, Share>;
  readonly providers: Map<string, Share>;
  /** Groups with instances this process does not probe (probing off): no verdict is theirs to give. */
  readonly unprobed: Set<string>;
}

/** Counts, per group and per provider, the running instances of probed groups and those whose failures are confirmed. */
function shares(state: DesiredState, planned: readonly PlannedInstance[]): Shares {
  const groups = new Map<string, Share>();
  const providers = new Map<string, Share>();
  const unprobed = new Set<string>();
  for (const inst of planned) {
    const group = inst.group === undefined ? undefined : state.groups[inst.group];
    if (group !== undefined && inst.unprobed === true) unprobed.add(group.name);
    if (
      group === undefined ||
      group.health.probe.kind === 'none' ||
      inst.unprobed === true ||
      inst.state !== 'running' ||
      inst.locked === true
    )
      continue;
    const failing = inst.failing === 'confirmed' ? 1 : 0;
    for (const [map, key] of [
      [groups, group.name],
      [providers, group.provider],
    ] as const) {
      const share = map.get(key) ?? { failing: 0, probed: 0, passing: 0 };
      share.failing += failing;
      share.passing += inst.readySince === undefined ? 0 : 1;
      share.probed += 1;
      map.set(key, share);
    }
  }
  return { groups, providers, unprobed };
}

function over(share: Share | undefined, thresholdPercent: number): share is Share {
  return share !== undefined && share.probed >= MIN_SCOPE && share.failing * 100 > thresholdPercent * share.probed;
}

/**
 * Probes fail on the provider (at least one confirmed) and none passes: Kubernetes' FullDisruption.
 * With no probe on the provider passing, nothing shows drover's probes work there, so even a scope under
 * MIN_SCOPE (one instance, two of two) is held; one passing peer makes its failures believable.
 */
function fullDisruption(share: Share | undefined): share is Share {
  return share !== undefined && share.failing > 0 && share.passing === 0;
}

/** The scope that holds a group, if any: its own share, its provider's, or the provider's full disruption. */
function holdingScope(
  own: Share | undefined,
  provider: Share | undefined,
  providerName: string,
  thresholdPercent: number,
): { what: string; reason: string; share: Share } | undefined {
  if (over(own, thresholdPercent)) return { what: 'of the group', reason: 'GroupProbesFailing', share: own };
  if (over(provider, thresholdPercent)) return { what: `on provider ${providerName}`, reason: 'ProviderProbesFailing', share: provider };
  if (fullDisruption(provider)) return { what: `on provider ${providerName} (every one)`, reason: 'AllProbesFailing', share: provider };
  return undefined;
}

/** ProbesFailing=False: ProbesPassing only when none of the group's probed instances fails. */
function notHeld(own: Share | undefined, providerName: string, thresholdPercent: number): Condition {
  if (own === undefined || own.failing === 0) {
    const counted = own === undefined ? 'no probed instance running' : `0 of ${own.probed} probed instances failing`;
    return {
      type: 'ProbesFailing',
      status: 'False',
      reason: 'ProbesPassing',
      message: `${counted}; replacement pauses above ${thresholdPercent}%`,
    };
  }
  const message = `${own.failing} of ${own.probed} probed instances failing, believed (other probes on provider ${providerName} pass): unhealthy instances are replaced; replacement pauses above ${thresholdPercent}% or when every probe on the provider fails`;
  return { type: 'ProbesFailing', status: 'False', reason: 'FailuresBelieved', message };
}

function setCondition(step: GroupStep, condition: Condition): GroupStep {
  const conditions = [...step.status.conditions.filter((c) => c.type !== condition.type), condition];
  return { ...step, status: { ...step.status, conditions } };
}

/** The scopes where replacement pauses: per probed group, the ProbesFailing condition. */
export interface ProbeVerdicts {
  readonly conditions: ReadonlyMap<string, Condition>;
  /** Groups whose unhealthy instances must not be replaced this pass. */
  readonly held: ReadonlySet<string>;
}

/**
 * Judges every probed group: held when its own failing share or its provider's is above
 * `thresholdPercent`, or when every probed instance on its provider fails. A group whose instances
 * this process does not probe (probing off) gets no condition: nothing was probed to judge.
 */
export function judgeProbes(
  state: DesiredState,
  planned: readonly PlannedInstance[],
  thresholdPercent = DEFAULT_UNHEALTHY_THRESHOLD_PERCENT,
): ProbeVerdicts {
  const { groups, providers, unprobed } = shares(state, planned);
  const conditions = new Map<string, Condition>();
  const held = new Set<string>();
  for (const group of Object.values(state.groups)) {
    const own = groups.get(group.name);
    if (group.health.probe.kind === 'none' || (own === undefined && unprobed.has(group.name))) continue;
    const provider = providers.get(group.provider);
    const scope = holdingScope(own, provider, group.provider, thresholdPercent);
    if (scope === undefined) {
      conditions.set(group.name, notHeld(own, group.provider, thresholdPercent));
      continue;
    }
    held.add(group.name);
    const message = `${scope.share.failing} of ${scope.share.probed} probed instances ${scope.what} fail their probes (more than ${thresholdPercent}%): drover's probes are the likelier fault (its network, DNS, a firewall); unhealthy instances are not replaced until the share falls`;
    conditions.set(group.name, { type: 'ProbesFailing', status: 'True', reason: scope.reason, message });
  }
  return { conditions, held };
}

/**
 * The planner's inputs with replacement paused where `verdicts` hold: a held group's confirmed
 * failures are presented as suspected, which the planner never judges unhealthy. Done before
 * planning, so the step stays consistent (no create sized for a delete that will not happen).
 */
export function withheldFailures(planned: readonly PlannedInstance[], verdicts: ProbeVerdicts): PlannedInstance[] {
  if (verdicts.held.size === 0) return [...planned];
  return planned.map((i) => (i.failing === 'confirmed' && verdicts.held.has(i.group ?? '') ? { ...i, failing: 'suspected' } : i));
}

/** `steps` with each probed group's ProbesFailing condition. */
export function withProbeConditions(steps: readonly GroupStep[], verdicts: ProbeVerdicts): GroupStep[] {
  return steps.map((step) => {
    const condition = verdicts.conditions.get(step.group);
    return condition === undefined ? step : setCondition(step, condition);
  });
}
