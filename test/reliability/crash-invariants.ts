/**
 * The crash suite's judge: replays one simulator's timeline (the cloud's own record, never drover's
 * logs) and reports every breach of the rollout invariants, per group:
 *
 * - ownership: every instance launched through the API carries fleet, group, slot and template, and
 *   none ever runs without them in its tags (a cloud that creates in steps — Proxmox: clone, then
 *   config, then start — records ownership at launch elsewhere than in the tags: see
 *   `launchOwnership`; its tags must still be complete before the VM first runs);
 * - ceiling: no launch ever takes the group's instances not yet gone (pending, running, stopping,
 *   stopped and terminating: a delete is done only when the cloud finishes it) above
 *   `replicas + maxSurge` of the revision that planned the launch (after a scale-in commit the
 *   surplus is not a breach; launching on top of it is);
 * - floor: right after each of drover's own deletions of a running instance, ready instances never
 *   below `replicas − maxUnavailable` (instances the test terminated out of band are discounted, but
 *   only for the daemon process that was alive when the test terminated them: the next process
 *   observes the loss before it decides anything);
 * - slots: never two live instances of one (group, template, slot);
 * - canaries: in a canary group, a launch never takes the live instances of one image digest above
 *   the canary count unless a commit promoting that digest (naming it in `canary.promote`) was made
 *   before the launch, or the digest was the group's first, or no instance of another digest was
 *   pending or running at the launch (a group launched from nothing, or whose old set is gone, has
 *   nothing to hold the canary against: the planner then rolls plainly, as src/plan/README says).
 *   A promotion of an earlier digest left in Git promotes nothing. Instances being
 *   terminated do not count here (unlike the ceiling): a canary that died, out of band or replaced
 *   by drover, may be replaced by another while it terminates. Only where the launch record carries
 *   the digest (`keys.digest`).
 *
 * Which bound judges a launch: a launch that carries its revision (the `revision` key: EC2 and
 * Azure tags, GCE's revision label, Proxmox's clone-time description via `launchOwnership`)
 * is judged against that revision's spec alone, counting every instance of the group not yet gone
 * whichever revision launched it. No leniency is needed while a transition between revisions is in
 * progress: the process that plans under revision R lists every instance first, old ones of the
 * previous revision included, and must fit its launches under R's replicas + maxSurge on top of
 * them (so after a digest bump with scale-down, nothing launches until the old surplus is gone below
 * R's bound). Requests of a killed process that land after the next process listed are no
 * exception: EC2's launch ledger journals a launch before it is sent, so the next process counts it.
 *
 * Launches without a revision key (a cloud row that declares none, or a revision the commits do
 * not name) and the floor fall back to the window of specs possibly in force: a commit's spec applies
 * from its commit time; the previous spec stays possible until the new one is confirmed (a daemon
 * process spawned after the commit started). In the overlap the most permissive bound of the
 * possible specs is used: nothing else.
 */
import type { SimState, TimelineEvent } from '../../src/sim/timeline.ts';
import type { OwnershipKeys } from '../clouds/types.ts';

export type { OwnershipKeys };

/** Resolved rollout bounds of one group. */
export interface GroupBounds {
  readonly replicas: number;
  readonly surge: number;
  readonly unavailable: number;
}

/** One committed revision of the fleet. */
export interface SpecEpoch {
  /** Sim time of the commit (-Infinity for the initial one). */
  readonly committedAt: number;
  /** Sim time from which the previous epochs are no longer in force. */
  readonly confirmedAt: number;
  readonly groups: Readonly<Record<string, GroupBounds>>;
  /** Git commit of the revision (what drover writes into a launch's revision key). */
  readonly revision?: string | undefined;
}

/** A canary group: its canary count and when each digest was promoted (or first launched). */
export interface CanaryRecord {
  readonly count: number;
  /** Digests allowed past the canary count, with the sim time from which they are. */
  readonly promotions: readonly { readonly digest: string; readonly at: number }[];
}

/** Everything the judge needs for one simulator. */
export interface TimelineCheck {
  /** Name of the simulator, used in messages. */
  readonly cloud: string;
  readonly events: readonly TimelineEvent[];
  readonly keys: OwnershipKeys;
  readonly fleet: string;
  /** Groups that live in this simulator. */
  readonly groups: readonly string[];
  readonly epochs: readonly SpecEpoch[];
  /** Sim times at which daemon processes were spawned, ascending. */
  readonly spawns: readonly number[];
  /**
   * For clouds whose launch event carries no tags yet: each instance's ownership as the cloud
   * recorded it at launch (Proxmox: the description the clone call writes), by instance id. It
   * stands in for the tags of that instance's events until they carry the fleet key.
   */
  readonly launchOwnership?: ReadonlyMap<string, Readonly<Record<string, string>>> | undefined;
  /**
   * The slot an instance fills, from its slot tag, when the tag alone does not say (EC2 batches tag
   * every slot of a RunInstances, "4,5,6", and the instance's launch index picks its own).
   */
  readonly slotOf?: ((instanceId: string, slotTag: string) => string | undefined) | undefined;
  /** Canary groups by name (canary check). */
  readonly canaries?: ReadonlyMap<string, CanaryRecord> | undefined;
}

/** What the replay found. */
export interface TimelineVerdict {
  readonly violations: string[];
  /** Drover deletions of running instances checked against the floor. */
  readonly deletionsChecked: number;
  /** Of those, how many needed an out-of-band discount to pass. */
  readonly discounted: number;
  readonly launches: number;
  /** Launches judged against the bound of the revision that planned them (the rest: window). */
  readonly launchesByRevision: number;
}

/** Everything not yet gone counts against the ceiling: a terminating instance still exists. */
const LIVE: ReadonlySet<SimState> = new Set(['pending', 'running', 'stopping', 'stopped', 'terminating']);
/** Instances that serve a digest (the canary check): everything live but terminating. */
const SERVING: ReadonlySet<SimState> = new Set(['pending', 'running', 'stopping', 'stopped']);

interface Tracked {
  readonly group: string;
  readonly key: string;
  state: SimState;
}

interface Ghost {
  readonly group: string;
  readonly from: number;
  readonly until: number;
}

/** The epochs that may be in force at sim time `at`. */
export function epochsAt(epochs: readonly SpecEpoch[], at: number): SpecEpoch[] {
  return epochs.filter((e, i) => e.committedAt <= at && (i === epochs.length - 1 || at < epochs[i + 1]!.confirmedAt));
}

function bound(
  epochs: readonly SpecEpoch[],
  at: number,
  group: string,
  pick: (b: GroupBounds) => number,
  combine: (...n: number[]) => number,
): number | undefined {
  const values = epochsAt(epochs, at)
    .map((e) => e.groups[group])
    .filter((b): b is GroupBounds => b !== undefined)
    .map(pick);
  return values.length === 0 ? undefined : combine(...values);
}

/** The epoch of the revision `tag` names (a full or abbreviated commit), if any. */
export function epochOfRevision(epochs: readonly SpecEpoch[], tag: string | undefined): SpecEpoch | undefined {
  if (tag === undefined || tag === '') return undefined;
  return epochs.find((e) => e.revision !== undefined && (tag.includes(e.revision) || e.revision.startsWith(tag)));
}

function add(map: Map<string, number>, key: string, delta: number): void {
  map.set(key, (map.get(key) ?? 0) + delta);
}

/** Replays `check.events` and returns every invariant breach. */
export function checkTimeline(check: TimelineCheck): TimelineVerdict {
  const { keys } = check;
  const violations: string[] = [];
  const sorted = [...check.events].sort((a, b) => a.at - b.at || a.seq - b.seq);
  const tracked = new Map<string, Tracked>();
  const ready = new Map<string, number>();
  const live = new Map<string, number>();
  const perSlot = new Map<string, number>();
  const perDigest = new Map<string, number>();
  const digestOf = new Map<string, string>();
  const ghosts: Ghost[] = [];
  let deletionsChecked = 0;
  let discounted = 0;
  let launches = 0;
  let launchesByRevision = 0;
  const nextSpawnAfter = (at: number) => check.spawns.find((s) => s > at) ?? Infinity;
  const say = (at: number, text: string) => {
    if (violations.length < 50) violations.push(`${check.cloud} @${at}: ${text}`);
  };

  const missingIn = (tags: Readonly<Record<string, string>>) =>
    (['fleet', 'group', 'slot', 'template'] as const).filter((k) => (tags[keys[k]] ?? '') === '');

  for (const event of sorted) {
    const recorded = event.tags[keys.fleet] === undefined ? check.launchOwnership?.get(event.instanceId) : undefined;
    const tags = recorded ?? event.tags;
    if (tags[keys.fleet] !== check.fleet) continue;
    const before = tracked.get(event.instanceId);
    const slotTag = tags[keys.slot] ?? '';
    const slot = check.slotOf?.(event.instanceId, slotTag) ?? slotTag;
    if (event.from === null) {
      launches++;
      const missing = missingIn(tags);
      if (missing.length > 0)
        say(event.at, `instance ${event.instanceId} launched without ownership ${missing.join(', ')}: ${JSON.stringify(tags)}`);
      else if (!check.groups.includes(tags[keys.group]!))
        say(event.at, `instance ${event.instanceId} launched for unknown group ${tags[keys.group]}`);
      else if (!/^\d+$/.test(slot)) say(event.at, `instance ${event.instanceId} has slot ${slotTag}`);
    }
    if (event.to === 'running' && before?.state !== 'running' && missingIn(event.tags).length > 0) {
      say(
        event.at,
        `instance ${event.instanceId} runs without ownership tags ${missingIn(event.tags).join(', ')}: ${JSON.stringify(event.tags)}`,
      );
    }
    const group = before?.group ?? tags[keys.group];
    if (group === undefined) continue;
    const key = before?.key ?? `${group}/${tags[keys.template]}/${slot}`;
    const previous = before?.state;
    if (event.from === null && keys.digest !== undefined && tags[keys.digest] !== undefined)
      digestOf.set(event.instanceId, `${group}/${tags[keys.digest]}`);
    const digestKey = digestOf.get(event.instanceId);
    if (previous !== undefined) {
      if (previous === 'running') add(ready, group, -1);
      if (LIVE.has(previous)) {
        add(live, group, -1);
        add(perSlot, key, -1);
      }
      if (SERVING.has(previous) && digestKey !== undefined) add(perDigest, digestKey, -1);
    }
    if (event.to === 'running') add(ready, group, 1);
    if (LIVE.has(event.to)) {
      add(live, group, 1);
      add(perSlot, key, 1);
    }
    if (SERVING.has(event.to) && digestKey !== undefined) add(perDigest, digestKey, 1);
    tracked.set(event.instanceId, { group, key, state: event.to });
    if (event.kind === 'tags' && tags[keys.group] !== group)
      say(event.at, `instance ${event.instanceId} changed group tag to ${event.tags[keys.group]}`);

    // Only a launch can raise the count: instances above a lowered ceiling (scale-in) are not a breach
    // until drover launches another while above it.
    const planner = event.from === null && keys.revision !== undefined ? epochOfRevision(check.epochs, tags[keys.revision]) : undefined;
    const own = planner?.groups[group];
    if (own !== undefined) launchesByRevision++;
    const ceiling =
      event.from !== null
        ? undefined
        : own !== undefined
          ? own.replicas + own.surge
          : bound(check.epochs, event.at, group, (b) => b.replicas + b.surge, Math.max);
    const liveNow = live.get(group) ?? 0;
    const by = own !== undefined ? `of revision ${tags[keys.revision!]}` : 'of the specs possibly in force';
    if (ceiling !== undefined && liveNow > ceiling)
      say(
        event.at,
        `group ${group}: ${liveNow} instances not gone > replicas + maxSurge ${by} = ${ceiling} (after ${event.instanceId} ${event.from ?? 'new'} → ${event.to}, ${event.cause})`,
      );
    const canary = check.canaries?.get(group);
    if (event.from === null && canary !== undefined && digestKey !== undefined) {
      const digest = digestKey.slice(group.length + 1);
      const n = perDigest.get(digestKey) ?? 0;
      const others = [...digestOf].filter(
        ([id, k]) => k !== digestKey && k.startsWith(`${group}/`) && ['pending', 'running'].includes(tracked.get(id)?.state ?? ''),
      ).length;
      if (n > canary.count && others > 0 && !canary.promotions.some((p) => p.digest === digest && p.at <= event.at)) {
        const states = [...digestOf].filter(([, k]) => k === digestKey).map(([id]) => `${id} ${tracked.get(id)?.state ?? '?'}`);
        say(
          event.at,
          `canary group ${group}: ${n} live instances of ${digest} > canary count ${canary.count} before any commit promoted it (after ${event.instanceId}; its instances: ${states.join(', ')}; ${others} of other digests pending or running)`,
        );
      }
    }
    if ((perSlot.get(key) ?? 0) > 1)
      say(event.at, `group ${group}: ${perSlot.get(key)} live instances of template/slot ${key} (after ${event.instanceId} → ${event.to})`);

    const leftRunning = previous === 'running' && event.to !== 'running';
    if (leftRunning && event.cause === 'out-of-band') ghosts.push({ group, from: event.at, until: nextSpawnAfter(event.at) });
    if (leftRunning && event.cause === 'api') {
      deletionsChecked++;
      const floor = bound(check.epochs, event.at, group, (b) => b.replicas - b.unavailable, Math.min);
      const readyNow = ready.get(group) ?? 0;
      const excused = ghosts.filter((g) => g.group === group && g.from <= event.at && event.at < g.until).length;
      if (floor !== undefined && readyNow < floor) {
        if (readyNow + excused >= floor) discounted++;
        else
          say(
            event.at,
            `group ${group}: drover deleted running ${event.instanceId}, leaving ${readyNow} ready < replicas − maxUnavailable = ${floor} (out-of-band discount ${excused})`,
          );
      }
    }
  }
  return { violations, deletionsChecked, discounted, launches, launchesByRevision };
}
