/**
 * A pass's progress in status while it runs (attack23b N8): a pass whose launches take long (a
 * 1,000-group rollout at the cloud's launch rate) must not leave status saying every group is Ready
 * on the old template until it ends. An in-process Daemon on the EC2 simulator rolls two groups;
 * the launches of one are held at the cloud, so the pass cannot end, and status must meanwhile show
 * the other group's new instance (as the simulator's world does) and neither group Ready.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { CreateRequest, Provider, ProviderContext } from '../../src/contract/provider.ts';
import type { GroupCounts, GroupStep } from '../../src/plan/types.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import type { ActionResult } from '../../src/reconcile/execute.ts';
import { withActions } from '../../src/reconcile/pass-progress.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { DIGEST_A, DIGEST_B, writeFleet } from '../helpers/fleet-files.ts';

const FLEET = 'progress';
const AMI = { [DIGEST_A]: 'ami-0a1a2a3a4a5a6a7a8', [DIGEST_B]: 'ami-0b1b2b3b4b5b6b7b8' };

function image(digest: string): string {
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest}\n  artifacts: { aws: { id: ${AMI[digest]} } }\n`;
}

function group(name: string): string {
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: aws\n  image: web\n  replicas: 1\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;
}

/** While closed, launches of group `slow` wait at the cloud until `open()`; `held` counts those waiting. */
class Gate {
  held = 0;
  private waiters: (() => void)[] = [];
  private shut = false;
  close(): void {
    this.shut = true;
  }
  open(): void {
    this.shut = false;
    for (const wake of this.waiters) wake();
    this.waiters = [];
  }
  async pass(requests: readonly CreateRequest[]): Promise<void> {
    if (!this.shut || !requests.some((r) => r.owner.group === 'slow')) return;
    this.held++;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.held--;
  }
  wrap(provider: Provider): Provider {
    return new Proxy(provider, {
      get: (target, key) => {
        const value: unknown = Reflect.get(target, key, target);
        if (key === 'create')
          return async (r: CreateRequest, o?: object) => {
            await this.pass([r]);
            return target.create(r, o);
          };
        if (key === 'createBatch' && target.createBatch !== undefined)
          return async (rs: readonly CreateRequest[], o?: object) => {
            await this.pass(rs);
            return target.createBatch!(rs, o);
          };
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

function isTrue(d: Daemon, name: string, type: string): boolean {
  return d.status.get(name)?.conditions.some((c) => c.type === type && c.status === 'True') === true;
}

function action(kind: 'create' | 'delete', name: string, id: string | undefined, failed = false): ActionResult {
  return { kind, group: 'g', name, id, reason: 'x', error: failed ? { reason: 'Boom' } : undefined } as unknown as ActionResult;
}

describe('pass progress in status (attack23b N8)', function () {
  this.timeout(90_000);
  let sim: Ec2Simulator;
  let stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100 });
    for (const [digest, id] of Object.entries(AMI)) sim.addImage({ id, tags: { [TAG.digest]: digest } });
  });
  afterEach(async () => {
    for (const stop of stops.toReversed()) await stop();
    stops = [];
    await sim.close();
  });

  const live = (name: string, digest: string) =>
    sim.world
      .list()
      .filter(
        (i) =>
          i.tags[TAG.fleet] === FLEET &&
          i.tags[TAG.group] === name &&
          i.image === AMI[digest] &&
          (i.state === 'pending' || i.state === 'running'),
      );

  it('shows a group rolling while the pass that launches it is still running', async () => {
    const { dir, cleanup } = await writeFleet({
      'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
      'aws.yaml': `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws }\nspec: { type: aws, region: eu-west-1 }\n`,
      'image.yaml': image(DIGEST_A),
      'fast.yaml': group('fast'),
      'slow.yaml': group('slow'),
    });
    stops.push(cleanup);
    const gate = new Gate();
    const daemon = new Daemon({
      config: inProcessDaemonConfig(dir, { limits: { concurrency: 4, providers: {} } }),
      source: new DirSource(dir),
      logger: createLogger('error', new Writable({ write: (_c, _e, done) => done() })),
      prober: 'provider-state-only',
      env: {},
      factories: () =>
        Promise.resolve(async (context: ProviderContext) =>
          gate.wrap(await aws.createProvider(context.config, sim, { fleet: context.fleet })),
        ),
      clockOf: () => () => sim.clock.now(),
    });
    await daemon.start();
    stops.push(() => (gate.open(), daemon.stop()));
    await waitFor(
      () => ['fast', 'slow'].every((g) => live(g, DIGEST_A).some((i) => i.state === 'running') && isTrue(daemon, g, 'Ready')),
      'both groups run build A and are Ready',
    );

    const oldTemplate = daemon.status.get('fast')?.desiredTemplateHash;
    gate.close();
    await writeFile(path.join(dir, 'image.yaml'), image(DIGEST_B));
    await waitFor(() => gate.held > 0 && live('fast', DIGEST_B).length > 0, "slow's launch is held and fast's new instance exists");

    // The pass cannot end while slow's launch is held: status must show it as it goes.
    const fast = () => daemon.status.get('fast');
    await waitFor(
      () => fast()?.desiredTemplateHash !== oldTemplate && (fast()?.counts?.updated ?? 0) >= 1,
      "status counts fast's new instance",
      10_000,
    );
    assert.ok(gate.held > 0, 'still mid-pass');
    const passes = () => (daemon.statusView() as { passes: Record<string, { actionsDone: number; actionsPlanned: number }> }).passes;
    await waitFor(() => (passes()['aws']?.actionsDone ?? 0) >= 1, "status says the lane's pass runs, with an action done", 10_000);
    assert.ok((passes()['aws']?.actionsPlanned ?? 0) >= 2, JSON.stringify(passes()));
    for (const name of ['fast', 'slow']) {
      const view = daemon.status.get(name);
      assert.equal(isTrue(daemon, name, 'Ready'), false, `${name} is not Ready on the old template`);
      assert.equal(isTrue(daemon, name, 'Progressing'), true, `${name} is Progressing`);
      assert.ok(view?.imageDigest === DIGEST_B, `${name} shows the new digest`);
    }

    gate.open();
    await waitFor(
      () => ['fast', 'slow'].every((g) => live(g, DIGEST_A).length === 0 && live(g, DIGEST_B).some((i) => i.state === 'running')),
      'both groups run build B only',
    );
    await waitFor(() => ['fast', 'slow'].every((g) => isTrue(daemon, g, 'Ready') && !isTrue(daemon, g, 'Progressing')), 'both Ready');
    await waitFor(() => passes()['aws'] === undefined, 'no pass shown running once the passes end');
  });
});

describe('withActions (pass progress counts)', () => {
  const counts: GroupCounts = {
    live: 2,
    terminating: 0,
    ready: 2,
    available: 2,
    locked: 0,
    updated: 0,
    updatedReady: 0,
    byTemplate: [
      {
        templateHash: 'old',
        total: 2,
        ready: 2,
        byState: { pending: 0, running: 2, stopping: 0, stopped: 0, terminating: 0, terminated: 0, unknown: 0 },
      },
    ],
  };
  const step = {
    group: 'g',
    provider: 'p',
    creates: [{ templateHash: 'newhash00', slot: 0, zone: 'z', reason: 'rollout' }],
    deletes: [{ id: 'i-1', name: 'g-old-0', group: 'g', zone: 'z', templateHash: 'old', reason: 'template-changed', ready: true }],
    waits: [],
    requeueAfterSeconds: undefined,
    failedTemplate: undefined,
    status: { group: 'g', replicas: 2, desiredTemplateHash: 'newhash00', targetTemplateHash: 'newhash00', counts, conditions: [] },
  } as unknown as GroupStep;

  it('counts a launch as a starting instance of its template and a delete as one being deleted', () => {
    const moved = withActions(step, [action('create', 'g-newhash0-0', 'i-9'), action('delete', 'g-old-0', 'i-1')]).status.counts;
    assert.deepEqual(
      { live: moved.live, terminating: moved.terminating, ready: moved.ready, updated: moved.updated, updatedReady: moved.updatedReady },
      { live: 2, terminating: 1, ready: 1, updated: 1, updatedReady: 0 },
    );
    const byHash = new Map(moved.byTemplate.map((t) => [t.templateHash, t]));
    assert.equal(byHash.get('newhash00')?.byState.pending, 1);
    assert.equal(byHash.get('old')?.byState.terminating, 1);
    assert.equal(byHash.get('old')?.byState.running, 1);
  });

  it('leaves the counts of failed actions alone', () => {
    assert.equal(withActions(step, [action('create', 'g-newhash0-0', undefined, true)]), step);
  });
});
