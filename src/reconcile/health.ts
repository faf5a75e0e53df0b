/**
 * Readiness facts for the planner. Providers only know "running"; the tracker adds when an
 * instance became continuously healthy (readySince) or unhealthy again (unhealthySince), probing
 * TCP or HTTP when the group asks for it. Like a Kubernetes readiness probe, one failed probe
 * proves nothing: an instance counts as failing only after `failureThreshold` consecutive failed
 * probes at least `periodSeconds` apart (a ready instance stays ready until then), and an instance
 * drover has never seen ready is judged from drover's first observation of it, never from its
 * creation time. State is in memory only: after a restart every instance starts unready and
 * unjudged again, which can only delay deletions, never cause one.
 */
import type { ObservedInstance } from '../contract/provider.ts';
import type { HealthPolicy, HealthProbe } from '../contract/fleet.ts';
import type { PlannedInstance } from '../plan/types.ts';

/** Checks one instance's health endpoint. Resolves true when healthy; never rejects. */
export type Prober = (address: string, probe: Exclude<HealthProbe, { kind: 'none' }>) => Promise<boolean>;

/** What the tracker needs of a group's health policy (timings default to the schema's 3 × 10 s). */
export type ProbePolicy = Pick<HealthPolicy, 'probe' | 'failureThreshold' | 'periodSeconds'>;

/** The schema's defaults of failureThreshold and periodSeconds. */
export const PROBE_DEFAULTS = { failureThreshold: 3, periodSeconds: 10 } as const;

interface Facts {
  readonly readySince: number | undefined;
  readonly unhealthySince: number | undefined;
  /** First observation by this tracker. */
  readonly observedSince: number;
  /** Consecutive failed probes counted (at least periodSeconds apart). */
  readonly failures: number;
  /** When the current failure streak started, and when its last counted failure was. */
  readonly streakStart: number | undefined;
  readonly lastFailureAt: number | undefined;
}

/** Tracks readiness across passes, per instance id. */
export class HealthTracker {
  private facts = new Map<string, Facts>();
  private readonly prober: Prober | 'provider-state-only' | undefined;
  /** When the next probe of an instance in an unconfirmed failure streak is due. */
  private nextDue: number | undefined;

  /**
   * Without a prober, groups that define a probe never become ready (refusing to guess).
   * 'provider-state-only' trusts the provider's running state instead (simulators).
   */
  constructor(prober?: Prober | 'provider-state-only') {
    this.prober = prober;
  }

  /**
   * Updates the facts from one observation and returns planner inputs. `policyOf` gives the health
   * policy of the instance's group (probe none for orphans). Instances not in `instances` are
   * forgotten, unless `forgetUnlisted` is false (a partial observation: a focused pass).
   */
  async assess(
    instances: readonly ObservedInstance[],
    policyOf: (instance: ObservedInstance) => ProbePolicy,
    now: number,
    { forgetUnlisted = true } = {},
  ): Promise<PlannedInstance[]> {
    const policies = instances.map(policyOf);
    const healthy = await Promise.all(instances.map((instance, i) => this.isHealthy(instance, policies[i]!.probe)));
    const next = forgetUnlisted ? new Map<string, Facts>() : new Map(this.facts);
    let nextDue: number | undefined;
    const planned = instances.map((instance, i) => {
      const policy = timing(policies[i]!);
      const facts = advance(this.facts.get(instance.id), healthy[i]!, now, policy);
      next.set(instance.id, facts);
      if (facts.lastFailureAt !== undefined && facts.failures < policy.failureThreshold) {
        const due = facts.lastFailureAt + policy.periodSeconds * 1000;
        nextDue = nextDue === undefined ? due : Math.min(nextDue, due);
      }
      const unprobed = policies[i]!.probe.kind !== 'none' && this.prober === 'provider-state-only';
      return withFacts(instance, facts, policy.failureThreshold, unprobed);
    });
    this.facts = next;
    this.nextDue = nextDue;
    return planned;
  }

  /**
   * Seconds until an instance failing its probe is due for the probe that may confirm it (at least
   * 1); undefined when none is. A pass should run again by then, so a failure streak is judged
   * at periodSeconds and not at the next resync.
   */
  requeueAfterSeconds(now: number): number | undefined {
    return this.nextDue === undefined ? undefined : Math.max(1, Math.ceil((this.nextDue - now) / 1000));
  }

  private async isHealthy(instance: ObservedInstance, probe: HealthProbe): Promise<boolean> {
    if (instance.state !== 'running' || instance.locked === true) return false;
    if (probe.kind === 'none' || this.prober === 'provider-state-only') return true;
    if (this.prober === undefined || instance.address === undefined) return false;
    return this.prober(instance.address, probe);
  }
}

function timing(policy: ProbePolicy): { failureThreshold: number; periodSeconds: number } {
  return {
    failureThreshold: policy.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
    periodSeconds: policy.periodSeconds ?? PROBE_DEFAULTS.periodSeconds,
  };
}

/** The next facts after one probe. Failures closer than periodSeconds to the last counted one do not count again. */
function advance(
  previous: Facts | undefined,
  healthy: boolean,
  now: number,
  policy: { failureThreshold: number; periodSeconds: number },
): Facts {
  const observedSince = previous?.observedSince ?? now;
  if (healthy)
    return {
      readySince: previous?.readySince ?? now,
      unhealthySince: undefined,
      observedSince,
      failures: 0,
      streakStart: undefined,
      lastFailureAt: undefined,
    };
  const counts = previous?.lastFailureAt === undefined || now - previous.lastFailureAt >= policy.periodSeconds * 1000;
  const failures = (previous?.failures ?? 0) + (counts ? 1 : 0);
  const streakStart = previous?.streakStart ?? now;
  const lastFailureAt = counts ? now : previous?.lastFailureAt;
  const confirmed = failures >= policy.failureThreshold;
  // A ready instance stays ready until its failures are confirmed; then it is unhealthy since its streak began.
  if (previous?.readySince !== undefined && !confirmed) return { ...previous, failures, streakStart, lastFailureAt };
  const unhealthySince = previous?.readySince !== undefined ? streakStart : previous?.unhealthySince;
  return { readySince: undefined, unhealthySince, observedSince, failures, streakStart, lastFailureAt };
}

function withFacts(instance: ObservedInstance, facts: Facts, threshold: number, unprobed: boolean): PlannedInstance {
  const failing = facts.failures === 0 ? undefined : facts.failures >= threshold ? 'confirmed' : 'suspected';
  return {
    ...instance,
    observedSince: facts.observedSince,
    ...(facts.readySince === undefined ? {} : { readySince: facts.readySince }),
    ...(facts.unhealthySince === undefined ? {} : { unhealthySince: facts.unhealthySince }),
    ...(failing === undefined ? {} : { failing }),
    ...(unprobed ? { unprobed: true as const } : {}),
  };
}
