/**
 * Readiness facts for the planner. Providers only know "running"; the tracker adds when an
 * instance became continuously healthy (readySince) or unhealthy again (unhealthySince), probing
 * TCP or HTTP when the group asks for it. State is in memory only: after a restart every instance
 * starts unready again, which can only delay deletions, never cause one (safe by construction).
 */
import type { ObservedInstance } from '../../providers/types.ts';
import type { HealthProbe } from '../desired/types.ts';
import type { PlannedInstance } from '../plan/types.ts';

/** Checks one instance's health endpoint. Resolves true when healthy; never rejects. */
export type Prober = (address: string, probe: Exclude<HealthProbe, { kind: 'none' }>) => Promise<boolean>;

interface Facts {
  readonly readySince: number | undefined;
  readonly unhealthySince: number | undefined;
}

/** Tracks readiness across passes, per instance id. */
export class HealthTracker {
  private facts = new Map<string, Facts>();
  private readonly prober: Prober | 'provider-state-only' | undefined;

  /**
   * Without a prober, groups that define a probe never become ready (refusing to guess).
   * 'provider-state-only' trusts the provider's running state instead (simulators).
   */
  constructor(prober?: Prober | 'provider-state-only') {
    this.prober = prober;
  }

  /**
   * Updates the facts from one observation and returns planner inputs. `probeOf` gives the probe
   * of the instance's group (none for orphans). Instances not in `instances` are forgotten, unless
   * `forgetUnlisted` is false (a partial observation: a focused pass).
   */
  async assess(instances: readonly ObservedInstance[], probeOf: (instance: ObservedInstance) => HealthProbe, now: number, { forgetUnlisted = true } = {}): Promise<PlannedInstance[]> {
    const healthy = await Promise.all(instances.map((instance) => this.isHealthy(instance, probeOf(instance))));
    const next = forgetUnlisted ? new Map<string, Facts>() : new Map(this.facts);
    const planned = instances.map((instance, i) => {
      const facts = advance(this.facts.get(instance.id), healthy[i]!, now);
      next.set(instance.id, facts);
      return withFacts(instance, facts);
    });
    this.facts = next;
    return planned;
  }

  private async isHealthy(instance: ObservedInstance, probe: HealthProbe): Promise<boolean> {
    if (instance.state !== 'running' || instance.locked === true) return false;
    if (probe.kind === 'none' || this.prober === 'provider-state-only') return true;
    if (this.prober === undefined || instance.address === undefined) return false;
    return this.prober(instance.address, probe);
  }
}

function advance(previous: Facts | undefined, healthy: boolean, now: number): Facts {
  if (healthy) return { readySince: previous?.readySince ?? now, unhealthySince: undefined };
  const wasReady = previous?.readySince !== undefined;
  const unhealthySince = wasReady ? now : previous?.unhealthySince;
  return { readySince: undefined, unhealthySince };
}

function withFacts(instance: ObservedInstance, facts: Facts): PlannedInstance {
  const planned: PlannedInstance = { ...instance };
  return {
    ...planned,
    ...(facts.readySince === undefined ? {} : { readySince: facts.readySince }),
    ...(facts.unhealthySince === undefined ? {} : { unhealthySince: facts.unhealthySince }),
  };
}
