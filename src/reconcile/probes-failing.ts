/**
 * When many instances fail their probes at once, the probes are the likelier fault: drover's own
 * network, DNS, a firewall change, a restart into another network namespace. Kubernetes' node
 * lifecycle controller stops evicting above 55 % not-ready nodes in a zone, and load balancers
 * fail open when every target is unhealthy; drover stops replacing unhealthy instances in a scope
 * (a group, or a whole provider) where more than `thresholdPercent` of the probed running
 * instances fail, and says so with the ProbesFailing condition, until the share falls. Pure.
 */
import type { DesiredState } from '../desired/types.ts';
import type { Condition, GroupStep, PlannedInstance } from '../plan/types.ts';

/** Kubernetes' --unhealthy-zone-threshold. */
export const DEFAULT_UNHEALTHY_THRESHOLD_PERCENT = 55;

/** A scope smaller than this is not judged alone: one dead instance of two must still be replaced. */
export const MIN_SCOPE = 3;

interface Share {
  failing: number;
  probed: number;
}

/** Counts, per group and per provider, the running instances of probed groups and those whose failures are confirmed. */
function shares(state: DesiredState, planned: readonly PlannedInstance[]): { groups: Map<string, Share>; providers: Map<string, Share> } {
  const groups = new Map<string, Share>();
  const providers = new Map<string, Share>();
  for (const inst of planned) {
    const group = inst.group === undefined ? undefined : state.groups[inst.group];
    if (group === undefined || group.health.probe.kind === 'none' || inst.state !== 'running' || inst.locked === true) continue;
    const failing = inst.failing === 'confirmed' ? 1 : 0;
    for (const [map, key] of [[groups, group.name], [providers, group.provider]] as const) {
      const share = map.get(key) ?? { failing: 0, probed: 0 };
      share.failing += failing;
      share.probed += 1;
      map.set(key, share);
    }
  }
  return { groups, providers };
}

function over(share: Share | undefined, thresholdPercent: number): share is Share {
  return share !== undefined && share.probed >= MIN_SCOPE && share.failing * 100 > thresholdPercent * share.probed;
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

/** Judges every probed group: held when its own failing share or its provider's is above `thresholdPercent`. */
export function judgeProbes(state: DesiredState, planned: readonly PlannedInstance[], thresholdPercent = DEFAULT_UNHEALTHY_THRESHOLD_PERCENT): ProbeVerdicts {
  const { groups, providers } = shares(state, planned);
  const conditions = new Map<string, Condition>();
  const held = new Set<string>();
  for (const group of Object.values(state.groups)) {
    if (group.health.probe.kind === 'none') continue;
    const own = groups.get(group.name);
    const provider = providers.get(group.provider);
    const scope = over(own, thresholdPercent) ? { what: 'of the group', reason: 'GroupProbesFailing', share: own } : over(provider, thresholdPercent) ? { what: `on provider ${group.provider}`, reason: 'ProviderProbesFailing', share: provider } : undefined;
    if (scope === undefined) {
      const counted = own === undefined ? 'no probed instance running' : `${own.failing} of ${own.probed} probed instances failing`;
      conditions.set(group.name, { type: 'ProbesFailing', status: 'False', reason: 'ProbesPassing', message: `${counted}; replacement pauses above ${thresholdPercent}%` });
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
