/**
 * The crash harness: the real `drover run` process follows a real Git repository and converges an
 * EC2 simulator and the round's other clouds' simulators (GCE, Azure, Proxmox: crash-clouds.ts; all
 * sharing one fast clock) while the harness commits rollouts (digest bumps,
 * scaling, canary start and promote), SIGKILLs the daemon at seeded random moments (during start-up,
 * right after it listens, while a create or delete is in flight, or after a random delay), restarts
 * it each time, now and then terminates an instance out of band or deletes the daemon's state
 * directory. After the last restart it waits for convergence and checks the final world exactly;
 * then the simulators' timelines are judged (crash-invariants.ts). One call = one round.
 */
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadFleet } from '../../src/desired/load.ts';
import { ScaledClock } from '../../src/sim/clock.ts';
import type { World } from '../../src/sim/world.ts';
import { spawnGatedDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess, GatedDaemon } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';
import { CRASH_CLOUDS } from './crash-clouds.ts';
import type { Cloud, CrashSim } from './crash-clouds.ts';
import {
  artifactOf,
  between,
  boundsByGroup,
  cloneFleet,
  digestOf,
  FLEET,
  fleetFiles,
  initialFleet,
  pick,
  promoteAll,
  rng,
  scenario,
} from './crash-fleet.ts';
import type { FleetModel, ScenarioStep } from './crash-fleet.ts';
import { checkTimeline } from './crash-invariants.ts';
import type { CanaryRecord, OwnershipKeys, SpecEpoch } from './crash-invariants.ts';

const TOKEN = 'crash-token-3b9e71d2';
/** Wall ms after a restart during which the previous process's in-flight requests may still land. */
const SLOP_MS = 50;
const GATE = path.resolve(import.meta.dirname, 'crash-gate.ts');
const LIVE = new Set(['pending', 'running', 'stopping', 'stopped', 'terminating']);

/** Options of one round. */
export interface CrashRoundOptions {
  readonly seed: number;
  /** SIGKILLs before the final restart. */
  readonly kills: number;
  /** Longest life of a daemon process before its kill (wall ms after it listens). Default: the slowest cloud's. */
  readonly maxLifeMs?: number;
  /** Simulated-clock speed-up. Default 200. */
  readonly factor?: number;
  /** Wall ms the final daemon gets to converge. Default 60 000. */
  readonly convergeTimeoutMs?: number;
  /**
   * Clouds of the round: EC2 always, plus two groups on each other cloud listed (heavier: every
   * restart loads their clients). Default ['aws', 'gcp'].
   */
  readonly clouds?: readonly Cloud[];
  readonly log?: (line: string) => void;
}

/** What a round did and found. */
export interface CrashRoundReport {
  readonly seed: number;
  readonly kills: number;
  readonly clouds: string;
  /** Kills by moment: during start-up, right after listening, with an action in flight, after a delay. */
  readonly moments: Record<Moment, number>;
  readonly commits: number;
  readonly stateWipes: number;
  readonly outOfBand: number;
  readonly launches: number;
  /** Launches and checked deletions per cloud, e.g. `aws 20/6 (8 batched) proxmox 9/3`. */
  readonly perCloud: string;
  readonly deletionsChecked: number;
  readonly discounted: number;
  /** Launches judged against the bounds of the revision that planned them (EC2's revision tag). */
  readonly launchesByRevision: number;
  readonly violations: string[];
  readonly wallMs: number;
}

type Moment = 'startup' | 'listening' | 'in-flight' | 'delay';

interface Epoch {
  committedAt: number;
  confirmedAt: number;
  readonly groups: SpecEpoch['groups'];
  readonly revision: string;
}

/** Runs one round; never throws for an invariant breach (see `violations`), only for harness failures. */
export async function runCrashRound(options: CrashRoundOptions): Promise<CrashRoundReport> {
  const started = performance.now();
  const random = rng(options.seed);
  const say = options.log ?? (() => undefined);
  const log = (line: string) => say(`[${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`);
  const clock = new ScaledClock({ factor: options.factor ?? 200 });
  const tmp = tempDir('drover-crash-');
  const stateDir = path.join(tmp.path, 'state');
  const repo = new TestRepo(tmp.path);
  const clouds = [...new Set<Cloud>(['aws', ...(options.clouds ?? ['gcp'])])];
  const initial = initialFleet(clouds);
  const maxLife = options.maxLifeMs ?? Math.max(...clouds.map((c) => CRASH_CLOUDS[c].maxLifeMs));
  let fleet = initial;
  const sims = new Map<Cloud, CrashSim>();
  let daemon: DaemonProcess | undefined;
  let next: GatedDaemon | undefined;
  try {
    for (const cloud of clouds) sims.set(cloud, await CRASH_CLOUDS[cloud].start(clock, tmp.path));
    const simOf = (cloud: Cloud) => sims.get(cloud)!;
    const worlds: World[] = clouds.map((c) => simOf(c).world);
    const registered = new Set<string>();
    const register = (model: FleetModel) => {
      for (const g of model.filter((m) => !registered.has(artifactOf(m)))) {
        registered.add(artifactOf(g));
        simOf(g.cloud).register(g.name, g.build, digestOf(g.name, g.build));
      }
    };
    register(fleet);
    const first = repo.commit(fleetFiles(fleet), 'initial fleet');
    const epochs: Epoch[] = [{ committedAt: -Infinity, confirmedAt: -Infinity, groups: boundsByGroup(fleet), revision: first }];
    const spawns: number[] = [];
    // Canary groups: the first digest needs no promotion (launched from nothing); others from their commit.
    const promotions = new Map<string, { digest: string; at: number }[]>(
      fleet.filter((g) => g.canary).map((g) => [g.name, [{ digest: digestOf(g.name, g.build), at: -Infinity }]]),
    );
    // EC2's list lag here is 1 s simulated (5 ms of wall time): a 2 s bound holds batched launches
    // (and, after the state directory is deleted, every launch) for far less than a round.
    const configFile = path.join(tmp.path, 'drover.yaml');
    writeFileSync(configFile, 'providers:\n  aws-eu: { type: aws, listLagSeconds: 2 }\n');
    const env = {
      DROVER_CONFIG: configFile,
      DROVER_SOURCE__GIT__URL: repo.url,
      DROVER_SOURCE__GIT__INTERVAL: '300ms',
      DROVER_STATE_DIR: stateDir,
      DROVER_PROGRESS_INTERVAL: '200ms',
      DROVER_RESYNC_INTERVAL: '1s',
      DROVER_API__TOKEN_ENV: 'CRASH_API_TOKEN',
      CRASH_API_TOKEN: TOKEN,
      ...(Object.assign({}, ...clouds.map((c) => simOf(c).env)) as Record<string, string>),
      CRASH_GATE_CLOUDS: clouds.join(','),
      // Node's own bytecode cache: restarts cost less CPU on a loaded machine; drover is unaware of it.
      NODE_COMPILE_CACHE: path.join(os.tmpdir(), 'drover-crash-compile-cache'),
    };
    // The next process is spawned (and warms up behind its gate) while the current one runs.
    const take = () => {
      const taken = next ?? spawnGatedDaemon(env, GATE);
      next = undefined;
      return taken;
    };
    const prepareNext = () => {
      next ??= spawnGatedDaemon(env, GATE);
    };

    const steps = scenario(random, Math.max(4, Math.round(options.kills / 3)), initial);
    const commitAt = new Map<number, ScenarioStep[]>();
    const commitWindow = Math.max(1, Math.floor(options.kills * 0.8));
    for (const step of steps) {
      const at = between(random, 0, commitWindow - 1);
      commitAt.set(at, [...(commitAt.get(at) ?? []), step]);
    }
    commitAt.set(commitWindow, [...(commitAt.get(commitWindow) ?? []), promoteAll(initial)]);
    let commits = 0;
    const commit = (batch: readonly ScenarioStep[]) => {
      const updated = cloneFleet(fleet);
      for (const step of batch) step.apply(updated);
      register(updated);
      const revision = repo.commit(fleetFiles(updated), batch.map((s) => s.message).join('; '));
      for (const g of updated) {
        if (g.promoted !== undefined && g.promoted !== fleet.find((f) => f.name === g.name)?.promoted)
          promotions.get(g.name)?.push({ digest: digestOf(g.name, g.promoted), at: clock.now() });
      }
      fleet = updated;
      commits++;
      epochs.push({ committedAt: clock.now(), confirmedAt: Infinity, groups: boundsByGroup(fleet), revision });
      log(`  commit ${commits} @${clock.now()} ${revision.slice(0, 8)}: ${batch.map((s) => s.message).join('; ')}`);
    };
    const spawned = () => {
      // A request the killed process had already sent may still land a few ms after the kill: its
      // effects count against the killed process for SLOP_MS (the new process cannot act that fast).
      const now = clock.now() + SLOP_MS * clock.factor;
      spawns.push(now);
      log(`  spawn @${now}`);
      // A process spawned after a commit fetches it before its first pass: older specs end here.
      for (const e of epochs) if (e.confirmedAt === Infinity) e.confirmedAt = now;
    };
    let outOfBand = 0;
    const terminateOutOfBand = (why: string, only?: Cloud) => {
      const running = clouds
        .filter((c) => only === undefined || c === only)
        .flatMap((c) =>
          simOf(c)
            .world.list()
            .filter((i) => i.state === 'running' && i.tags[CRASH_CLOUDS[c].keys.fleet] === FLEET)
            .map((i) => ({ w: simOf(c).world, i })),
        );
      if (running.length === 0) return;
      const { w, i } = pick(random, running);
      w.terminate(i.id, 'out-of-band', 'test: terminated out of band');
      outOfBand++;
      log(`  out-of-band terminate ${i.id} (${why})`);
    };
    /** Waits for drover's next create or delete in `cloud`'s world; false when none came in time. */
    const nextApiEvent = async (cloud: Cloud, limitMs: number) => {
      const world = simOf(cloud).world;
      const since = world.events().at(-1)?.seq ?? 0;
      const deadline = performance.now() + limitMs;
      while (performance.now() < deadline) {
        if (world.events(since).some((e) => e.cause === 'api')) return true;
        await sleep(5);
      }
      return false;
    };
    const lastSeq = () => worlds.map((w) => w.events().at(-1)?.seq ?? 0);

    const released: DaemonProcess[] = [];
    const moments: Record<Moment, number> = { startup: 0, listening: 0, 'in-flight': 0, delay: 0 };
    let wipes = 0;
    for (let k = 0; k < options.kills; k++) {
      const batch = commitAt.get(k);
      const midLife = batch !== undefined && random() < 0.5;
      if (batch !== undefined && !midLife) commit(batch);
      const roll = random();
      const moment: Moment = roll < 0.2 ? 'startup' : roll < 0.35 ? 'listening' : roll < 0.6 ? 'in-flight' : 'delay';
      // In-flight is counted once an action was seen reaching the cloud; otherwise it was a delay.
      if (moment !== 'in-flight') moments[moment]++;
      spawned();
      if (moment === 'startup') {
        if (batch !== undefined && midLife) commit(batch);
        const after = between(random, 20, 600);
        log(`kill ${k + 1}/${options.kills}: during start-up after ${after} ms`);
        const gated = take();
        prepareNext();
        await gated.releaseAndKill(after);
      } else {
        const releasing = performance.now();
        daemon = await take().release(TOKEN, 180_000);
        released.push(daemon);
        log(`  listening ${Math.round(performance.now() - releasing)} ms after release`);
        prepareNext();
        if (batch !== undefined && midLife) commit(batch);
        if (moment === 'in-flight') {
          // A cloud of the round, picked at random, gets an action in flight. The others' first
          // change comes later than EC2's (Proxmox scans, checks the template and picks a VMID
          // before it clones; Azure creates the NIC before the VM), so they get longer to start one.
          const cloud = clouds.length === 1 ? 'aws' : pick(random, clouds);
          const limit = cloud === 'aws' ? maxLife : 4 * maxLife;
          let acted = await nextApiEvent(cloud, limit);
          if (!acted) {
            // A settled fleet gives drover nothing to do: kill an instance so that it has to act.
            terminateOutOfBand('to give the daemon an action to have in flight', cloud);
            // A settled daemon looks again after resyncInterval (1 s here, ± 10 %), then acts.
            acted = await nextApiEvent(cloud, Math.max(limit, 3000));
          }
          await sleep(between(random, 0, 30));
          moments[acted ? 'in-flight' : 'delay']++;
          log(`  ${acted ? 'an action in flight' : 'no action: counted as a delay'} on ${cloud}`);
        } else if (moment === 'delay') {
          const life = between(random, 50, maxLife);
          const oob = random() < 0.15;
          await sleep(oob ? life / 2 : life);
          if (oob) {
            terminateOutOfBand('daemon running');
            await sleep(life / 2);
          }
        }
        log(`kill ${k + 1}/${options.kills}: ${moment}`);
        await daemon.kill();
        daemon = undefined;
      }
      if (random() < 0.1) terminateOutOfBand('daemon down');
      if (random() < 0.1 || k === Math.floor(options.kills / 2)) {
        await rm(stateDir, { recursive: true, force: true });
        wipes++;
        log('  state directory deleted');
      }
    }

    log('final restart');
    for (const [k, batch] of commitAt) if (k >= options.kills) commit(batch);
    spawned();
    daemon = await take().release(TOKEN, 180_000);
    released.push(daemon);
    const loaded = await loadFleet(repo.dir);
    if (!loaded.ok) throw new Error(`the final fleet does not load: ${JSON.stringify(loaded.problems).slice(0, 500)}`);
    const desired = loaded.state;
    const worldOf = (cloud: Cloud) => simOf(cloud).world;
    const finalProblems = () => {
      const problems: string[] = [];
      for (const cloud of clouds) {
        const keys = CRASH_CLOUDS[cloud].keys;
        const live = worldOf(cloud)
          .list()
          .filter((i) => LIVE.has(i.state));
        const expected = fleet.filter((g) => g.cloud === cloud);
        for (const g of expected) {
          const mine = live.filter((i) => i.tags[keys.group] === g.name);
          const hash = desired.groups[g.name]!.templateHash;
          const slotOf = (i: (typeof mine)[number]) => simOf(cloud).slotOf?.(i.id, i.tags[keys.slot] ?? '') ?? i.tags[keys.slot];
          const slots = new Set(mine.map(slotOf));
          if (mine.length !== g.replicas) problems.push(`${g.name}: ${mine.length} live, want ${g.replicas}`);
          if (slots.size !== mine.length) problems.push(`${g.name}: duplicate slots ${mine.map(slotOf).join(',')}`);
          for (const i of mine) {
            if (i.state !== 'running') problems.push(`${g.name}: ${i.id} is ${i.state}`);
            if (i.tags[keys.template] !== hash) problems.push(`${g.name}: ${i.id} has template ${i.tags[keys.template]}, want ${hash}`);
            if (!i.image.endsWith(artifactOf(g))) problems.push(`${g.name}: ${i.id} runs ${i.image}, want ${artifactOf(g)}`);
            if (i.tags[keys.fleet] !== FLEET) problems.push(`${g.name}: ${i.id} lacks the fleet tag`);
          }
        }
        const names = new Set(expected.map((g) => g.name));
        for (const i of live.filter((x) => !names.has(x.tags[keys.group] ?? '')))
          problems.push(`${cloud}: leaked instance ${i.id} ${JSON.stringify(i.tags)}`);
      }
      return problems;
    };
    log('daemon listening; waiting for convergence');
    const deadline = performance.now() + (options.convergeTimeoutMs ?? 60_000);
    let problems = finalProblems();
    while (problems.length > 0 && performance.now() < deadline) {
      await sleep(100);
      problems = finalProblems();
    }
    log(problems.length === 0 ? 'converged' : 'did not converge');
    const violations: string[] = [];
    if (problems.length > 0)
      violations.push(
        `not converged after the last restart: ${problems.slice(0, 10).join('; ')}\n${await diagnose(
          daemon,
          clouds.map((c) => ({ world: worldOf(c), keys: CRASH_CLOUDS[c].keys })),
          fleet,
        )}`,
      );
    else {
      // Converged means settled: the daemon keeps its hands off for a while (no create or delete).
      const seq = lastSeq();
      await sleep(1500);
      const late = worlds.flatMap((w, n) => w.events(seq[n]).filter((e) => e.cause === 'api'));
      if (late.length > 0)
        violations.push(
          `the daemon kept changing a converged fleet: ${late
            .slice(0, 5)
            .map((e) => `${e.instanceId} → ${e.to}`)
            .join(', ')}`,
        );
      const again = finalProblems();
      if (again.length > 0) violations.push(`converged world changed: ${again.join('; ')}`);
    }
    await daemon.kill();
    daemon = undefined;

    let launches = 0;
    let deletionsChecked = 0;
    let discounted = 0;
    let launchesByRevision = 0;
    const perCloud: string[] = [];
    for (const cloud of clouds) {
      const verdict = checkTimeline({
        cloud,
        events: worldOf(cloud).events(),
        keys: CRASH_CLOUDS[cloud].keys,
        fleet: FLEET,
        groups: initial.filter((g) => g.cloud === cloud).map((g) => g.name),
        epochs,
        spawns,
        canaries: new Map([...promotions].map(([name, list]): [string, CanaryRecord] => [name, { count: 1, promotions: list }])),
        launchOwnership: simOf(cloud).launchOwnership?.(),
        slotOf: simOf(cloud).slotOf?.bind(simOf(cloud)),
      });
      violations.push(...verdict.violations);
      if (process.env['CRASH_TIMELINE'] !== undefined)
        say(timelineOf(worldOf(cloud), CRASH_CLOUDS[cloud].keys, process.env['CRASH_TIMELINE'].split(','), released));
      launches += verdict.launches;
      deletionsChecked += verdict.deletionsChecked;
      discounted += verdict.discounted;
      launchesByRevision += verdict.launchesByRevision;
      // Instances launched several to one call (EC2 batches tag every slot of the call: "4,5,6").
      const batched = worldOf(cloud)
        .events()
        .filter((e) => e.from === null && (e.tags[CRASH_CLOUDS[cloud].keys.slot] ?? '').includes(',')).length;
      perCloud.push(`${cloud} ${verdict.launches}/${verdict.deletionsChecked}${batched > 0 ? ` (${batched} batched)` : ''}`);
    }
    return {
      seed: options.seed,
      kills: options.kills,
      clouds: clouds.join('+'),
      moments,
      commits,
      stateWipes: wipes,
      outOfBand,
      launches,
      perCloud: perCloud.join(' '),
      deletionsChecked,
      discounted,
      launchesByRevision,
      violations,
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    await next?.discard();
    await daemon?.kill();
    for (const sim of sims.values()) await sim.close();
    tmp.cleanup();
  }
}

/** Seed from CRASH_SEED, or a fresh one. */
export function seedFromEnv(): number {
  const given = process.env['CRASH_SEED'];
  return given !== undefined && given !== '' ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

/** One-line summary of a round. */
export function summary(report: CrashRoundReport): string {
  const m = report.moments;
  return `seed=${report.seed} clouds=${report.clouds} kills=${report.kills} (startup ${m.startup}, listening ${m.listening}, in-flight ${m['in-flight']}, delay ${m.delay}) commits=${report.commits} wipes=${report.stateWipes} out-of-band=${report.outOfBand} launches=${report.launches} (by-revision ${report.launchesByRevision}) deletions-checked=${report.deletionsChecked} (${report.perCloud}) discounted=${report.discounted} violations=${report.violations.length} wall=${(report.wallMs / 1000).toFixed(1)}s`;
}

const short = (v: string | undefined) => (v ?? '-').replace(/^sha256:/, '').slice(0, 8);

/**
 * Diagnostics (CRASH_TIMELINE=group,…, printed through the round's log: CRASH_VERBOSE=1): every event of the named groups as the simulator recorded
 * it (sim time, state change, cause, slot, template, digest, revision), then the daemons' log lines
 * that name them (only processes that listened: those killed during start-up are not captured).
 */
function timelineOf(world: World, keys: OwnershipKeys, groups: readonly string[], daemons: readonly DaemonProcess[]): string {
  const lines = world
    .events()
    .filter((e) => groups.includes(e.tags[keys.group] ?? ''))
    .map(
      (e) =>
        `  ev @${e.at} ${e.instanceId} ${e.from ?? 'new'}→${e.to} ${e.cause} slot=${e.tags[keys.slot] ?? '-'} tpl=${short(e.tags[keys.template])} dig=${short(keys.digest === undefined ? undefined : e.tags[keys.digest])} rev=${short(keys.revision === undefined ? undefined : e.tags[keys.revision])}`,
    );
  daemons.forEach((d, n) => {
    for (const l of d.logs) if (groups.some((g) => l.includes(`"${g}"`))) lines.push(`  log#${n} ${l.slice(0, 600)}`);
  });
  return lines.join('\n');
}

/** What the daemon says about unconverged groups, and what the worlds hold for them. */
async function diagnose(
  daemon: DaemonProcess,
  worlds: readonly { world: World; keys: OwnershipKeys }[],
  fleet: FleetModel,
): Promise<string> {
  const lines: string[] = [];
  try {
    const status = (await daemon.get('/api/v1/status')).body as { groups: { name: string }[] };
    for (const g of status.groups) lines.push(`status ${JSON.stringify(g).slice(0, 1500)}`);
  } catch (error) {
    lines.push(`status unavailable: ${String(error)}`);
  }
  for (const { world, keys } of worlds) {
    for (const i of world.all()) {
      const group = i.tags[keys.group];
      const model = fleet.find((g) => g.name === group);
      lines.push(
        `world ${i.id} ${i.state} group=${group} slot=${i.tags[keys.slot]} template=${i.tags[keys.template]} image=${i.image}${model && i.image.endsWith(artifactOf(model)) ? ' (desired image)' : ''} token=${String(i.attributes['clientToken'] ?? '')} reason=${i.stateReason ?? ''}`,
      );
    }
  }
  lines.push(...daemon.logs.filter((l) => !l.includes('"pass finished"')).slice(-20));
  return lines.join('\n');
}
