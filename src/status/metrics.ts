/**
 * Prometheus metrics of the daemon (prom-client), in their own registry. Label values are group,
 * provider, template and error-code names: bounded sets, never ids, never secrets.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProviderCall } from '../reconcile/limited-provider.ts';
import type { PassResult } from '../reconcile/pass.ts';
import { isSettled } from './status-store.ts';
import type { GroupView } from './status-store.ts';

/** The high-availability series (DaemonMetrics.enableHa). */
interface HaMetrics {
  /** The lanes held now (drover_ha_lanes_held counts them). */
  readonly held: Set<string>;
  readonly laneHeld: Gauge;
  readonly lanesHeld: Gauge;
  readonly etcdOk: Gauge;
  readonly laneHolder: Gauge;
  readonly viewCurrent: Gauge;
  readonly fenceRefusals: Counter;
}

/** The daemon's metrics. */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly passDuration = new Histogram({
    name: 'drover_pass_duration_seconds',
    help: 'Duration of reconcile passes, per provider lane.',
    labelNames: ['provider'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  private readonly passes = new Counter({
    name: 'drover_passes_total',
    help: "Reconcile passes per provider lane by result (ok: the provider was listed, every one of its groups planned and every action succeeded; superseded: a newer revision changed the lane's groups while it listed (it did nothing) or executed (queued actions skipped)).",
    labelNames: ['provider', 'result'],
    registers: [this.registry],
  });
  private readonly instances = new Gauge({
    name: 'drover_instances',
    help: 'Instances observed per group, template and state.',
    labelNames: ['group', 'template', 'state'],
    registers: [this.registry],
  });
  private readonly rollouts = new Gauge({
    name: 'drover_rollouts_in_progress',
    help: 'Groups with work left at the current revision.',
    registers: [this.registry],
  });
  private readonly conditions = new Gauge({
    name: 'drover_group_condition',
    help: 'Group conditions (1 = the condition has this status).',
    labelNames: ['group', 'type', 'status'],
    registers: [this.registry],
  });
  private readonly actions = new Counter({
    name: 'drover_actions_total',
    help: "Instances created and deleted, by outcome (ok, failed, waiting: refused for now as expected, e.g. EC2's launch fence, retried when it ends; replayed: a create whose instance an earlier call had already launched, e.g. re-sent while the list lagged; counted apart so ok counts each instance once).",
    labelNames: ['group', 'action', 'outcome'],
    registers: [this.registry],
  });
  private readonly providerCalls = new Counter({
    name: 'drover_provider_calls_total',
    help: 'Provider API calls by provider, operation and code (ok or the cloud error code).',
    labelNames: ['provider', 'operation', 'code'],
    registers: [this.registry],
  });
  private readonly providerErrors = new Counter({
    name: 'drover_provider_errors_total',
    help: 'Failed provider API calls by provider, operation and code.',
    labelNames: ['provider', 'operation', 'code'],
    registers: [this.registry],
  });
  private readonly throttleWait = new Counter({
    name: 'drover_throttle_wait_seconds_total',
    help: "Time calls waited for drover's own per-provider token bucket.",
    labelNames: ['provider'],
    registers: [this.registry],
  });
  private readonly gitFetch = new Histogram({
    name: 'drover_git_fetch_duration_seconds',
    help: 'Duration of Git syncs (fetch, verify, load).',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly gitFailures = new Counter({
    name: 'drover_git_fetch_failures_total',
    help: 'Git syncs that failed, by reason.',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly revision = new Gauge({
    name: 'drover_revision_info',
    help: 'The applied revision (value 1).',
    labelNames: ['revision'],
    registers: [this.registry],
  });
  private readonly revisionRejected = new Gauge({
    name: 'drover_revision_rejected',
    help: '1 while the newest revision is rejected (invalid, unsigned, unfetchable) and the last good one stays in force.',
    registers: [this.registry],
  });

  private ha: HaMetrics | undefined;

  /**
   * Registers the high-availability series (only on a replica with `ha`, so a lone daemon shows
   * no etcd gauge): lanes held, etcd reachable (read at each scrape), fence refusals.
   */
  enableHa(etcdOk: () => boolean, holders: () => readonly { readonly lane: string; readonly replica: string }[] = () => []): void {
    if (this.ha !== undefined) return;
    const registers = [this.registry];
    this.ha = {
      held: new Set<string>(),
      laneHeld: new Gauge({
        name: 'drover_ha_lane_held',
        help: 'Lanes (Provider names) this replica holds: 1 while it runs the lane under its etcd lease, 0 after it gave it up.',
        labelNames: ['lane'],
        registers,
      }),
      lanesHeld: new Gauge({ name: 'drover_ha_lanes_held', help: 'Number of lanes this replica holds now.', registers }),
      etcdOk: new Gauge({
        name: 'drover_ha_etcd_ok',
        help: '1 while this replica is connected to etcd with a live lease (it holds its lanes or stands by), else 0.',
        registers,
        collect() {
          this.set(etcdOk() ? 1 : 0);
        },
      }),
      laneHolder: new Gauge({
        name: 'drover_ha_lane_holder',
        help: 'Every lane of the fleet with the replica that holds it now (value 1), as this replica sees etcd: the same on every replica. None while this replica cannot reach etcd (its map is old then: see drover_ha_lane_view_current).',
        labelNames: ['lane', 'replica'],
        registers,
        collect() {
          this.reset();
          // A map from before an outage is no statement about now: every lane may have moved or been lost.
          if (!etcdOk()) return;
          for (const { lane, replica } of holders()) this.set({ lane, replica }, 1);
        },
      }),
      viewCurrent: new Gauge({
        name: 'drover_ha_lane_view_current',
        help: '1 while drover_ha_lane_holder is current (this replica reaches etcd), 0 while the lane map is withheld as old.',
        registers,
        collect() {
          this.set(etcdOk() ? 1 : 0);
        },
      }),
      fenceRefusals: new Counter({
        name: 'drover_ha_fence_refusals_total',
        help: 'Creates and deletes refused by the lane fence (FenceLost: the lane was taken, keep-alives stale, etcd unreachable, resigned), by lane and reason.',
        labelNames: ['lane', 'reason'],
        registers,
      }),
    };
  }

  /** This replica took (true) or gave up (false) a lane. */
  laneHeld(lane: string, held: boolean): void {
    if (this.ha === undefined) return;
    if (held) this.ha.held.add(lane);
    else this.ha.held.delete(lane);
    this.ha.laneHeld.set({ lane }, held ? 1 : 0);
    this.ha.lanesHeld.set(this.ha.held.size);
  }

  /**
   * Drops the group series (instances, conditions) of `groups`: a lane this replica gave up (HA)
   * is reported by its new holder, so a stale copy here would count twice or show an old state.
   */
  async forgetGroups(groups: ReadonlySet<string>): Promise<void> {
    for (const gauge of [this.instances, this.conditions] as Gauge[]) {
      const { values } = await gauge.get();
      for (const value of values) if (groups.has(String(value.labels['group']))) gauge.remove(value.labels);
    }
  }

  /** A create or delete of `lane` refused by its fence. */
  fenceRefused(lane: string, reason: string, count = 1): void {
    this.ha?.fenceRefusals.inc({ lane, reason }, count);
  }

  /** Records a provider call (from the limited provider wrapper). */
  providerCall(call: ProviderCall): void {
    this.providerCalls.inc({ provider: call.provider, operation: call.operation, code: call.code });
    if (call.code !== 'ok') this.providerErrors.inc({ provider: call.provider, operation: call.operation, code: call.code });
    if (call.throttleWaitMs > 0) this.throttleWait.inc({ provider: call.provider }, call.throttleWaitMs / 1000);
  }

  /** Counts a pass of `provider`'s lane stopped while listing for a newer revision (it did nothing). */
  passSuperseded(provider: string): void {
    this.passes.inc({ provider, result: 'superseded' });
  }

  /**
   * Records a finished pass of one provider's lane: its duration, outcome and actions count for that
   * provider alone (a failing cloud does not turn the others' passes into errors); the gauges show
   * `fleet`, the fleet-wide view (this pass with the other lanes' latest), and `held`, the status of
   * the fleet's groups it could not plan.
   */
  pass(provider: string, lane: PassResult, fleet: PassResult = lane, held: readonly GroupView[] = []): void {
    // On the wall clock when the pass measured it (its providers' clock is a simulator's in the demo).
    const took = lane.wall ?? lane;
    this.passDuration.observe({ provider }, (took.finishedAt - took.startedAt) / 1000);
    const ok = lane.skipped.length === 0 && lane.actions.every((a) => a.error === undefined) && lane.observations.every((o) => o.ok);
    this.passes.inc({ provider, result: lane.superseded ? 'superseded' : ok ? 'ok' : 'error' });
    this.actionsDone(lane.actions);
    const result = fleet;
    this.instances.reset();
    this.conditions.reset();
    for (const step of result.guarded.steps) {
      for (const t of step.status.counts.byTemplate) {
        for (const [state, n] of Object.entries(t.byState))
          this.instances.set({ group: step.group, template: t.templateHash ?? 'unknown', state }, n ?? 0);
      }
      for (const c of step.status.conditions) this.conditions.set({ group: step.group, type: c.type, status: c.status }, 1);
    }
    for (const view of held) this.heldGroup(view);
    this.rollouts.set(result.guarded.steps.filter((s) => !isSettled(s)).length);
  }

  /**
   * A group the pass could not plan (listing failed, zone not listed) keeps its series: its
   * conditions as the status shows them (Ready/Degraded Unknown) and its last counted instances,
   * so an alert with `for:` does not restart because a series vanished for a pass.
   */
  private heldGroup(view: GroupView): void {
    for (const t of view.counts?.byTemplate ?? []) {
      for (const [state, n] of Object.entries(t.byState))
        this.instances.set({ group: view.name, template: t.templateHash ?? 'unknown', state }, n ?? 0);
    }
    for (const c of view.conditions) this.conditions.set({ group: view.name, type: c.type, status: c.status }, 1);
  }

  /** Counts actions (a pass's, or a focused pass's, which is not a pass of its own). */
  actionsDone(actions: PassResult['actions']): void {
    for (const a of actions)
      this.actions.inc({
        group: a.group ?? '',
        action: a.kind,
        outcome: a.error?.policy === 'waiting' ? 'waiting' : a.error ? 'failed' : a.replayed === true ? 'replayed' : 'ok',
      });
  }

  /**
   * Records a Git sync, whatever its outcome (an unchanged poll too). It leaves
   * `drover_revision_rejected` alone: a poll that finds the same rejected head is no news.
   */
  gitSync(durationMs: number, failureReason: string | undefined): void {
    this.gitFetch.observe(durationMs / 1000);
    if (failureReason !== undefined) this.gitFailures.inc({ reason: failureReason });
  }

  /** Marks `revision` as the applied one. */
  appliedRevision(revision: string): void {
    this.revision.reset();
    this.revision.set({ revision }, 1);
  }

  /** Marks the newest revision rejected (1) or accepted (0). */
  rejected(isRejected: boolean): void {
    this.revisionRejected.set(isRejected ? 1 : 0);
  }
}
