/**
 * The daemon under high availability (issue 21), driven by an in-memory coordinator
 * (fake-coordinator.ts) that obeys the LaneCoordinator semantics, against the EC2 simulator on its
 * fast clock. Verdicts come from the simulator's call log and world: a lane runs only while held;
 * stopLane skips queued creates and resolves only after the call in flight; a lost fence lets no
 * further create reach the cloud; a FenceLost refusal stops the pass without backoff or Stalled.
 * Each test's provider gates its mutating calls through the hold's fence as the contract says
 * providers do (ProviderContext.fence), and can hold a call "in flight" on a gate.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { MutationFence } from '../../src/contract/fence.ts';
import type { CallOptions, CreateRequest, ObservedInstance, Provider, ProviderContext } from '../../src/contract/provider.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { DIGEST_A, writeFleet } from '../helpers/fleet-files.ts';
import { FakeCoordinator, FakeEtcd } from './fake-coordinator.ts';

const AMI = 'ami-0a1b2c3d4e5f60718';
const FLEET = 'ha-fleet';
const LANE = 'aws-eu';
const GROUPS = ['g1', 'g2', 'g3'];

function fleetFiles(): Record<string, string> {
  const group = (name: string) =>
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: ${LANE}\n  image: web\n  replicas: 1\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;
  return {
    'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
    'provider.yaml': `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${LANE} }\nspec: { type: aws, region: eu-west-1 }\n`,
    'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts: { ${LANE}: { id: ${AMI} } }\n`,
    ...Object.fromEntries(GROUPS.map((g) => [`${g}.yaml`, group(g)])),
  };
}

/** Holds mutating calls that passed their fence check ("sent") until opened. */
class Gate {
  entered = 0;
  private closed: boolean;
  private waiting: (() => void)[] = [];

  constructor(closed: boolean) {
    this.closed = closed;
  }

  async pass(): Promise<void> {
    this.entered += 1;
    if (this.closed) await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  open(): void {
    this.closed = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

/**
 * The real AWS provider, each create and delete preceded by `fence.check()` (as ProviderContext.fence
 * asks of providers), then held on `gate`; one launch per call (no batches), so each create is a call.
 */
function fenced(provider: Provider, fence: MutationFence | undefined, gate: Gate): Provider {
  const guard = async <T>(send: () => Promise<T>): Promise<T> => {
    await fence?.check();
    await gate.pass();
    return send();
  };
  return {
    name: provider.name,
    type: provider.type,
    list: (scope, options) => provider.list(scope, options),
    create: (request: CreateRequest, options?: CallOptions) => guard(() => provider.create(request, options)),
    destroy: (instance: ObservedInstance, options?: CallOptions) => guard(() => provider.destroy(instance, options)),
    verifyImage: (image, options) => provider.verifyImage(image, options),
    classify: (error) => provider.classify(error),
    close: () => provider.close(),
  };
}

interface Rig {
  readonly daemon: Daemon;
  readonly etcd: FakeEtcd;
  readonly coordinator: FakeCoordinator;
  readonly gate: Gate;
  /** The fence each opening of the provider got (its token), in order. */
  readonly opened: (string | undefined)[];
  readonly logs: Record<string, unknown>[];
  /** Times the daemon asked its source to sync (API, forwarded requests). */
  readonly syncs: { count: number };
  /** The fleet directory the daemon reads. */
  readonly dir: string;
  stop(): Promise<void>;
}

describe('daemon under HA (in-memory coordinator, EC2 simulator)', function () {
  this.timeout(60_000);
  let sim: Ec2Simulator;
  let rig: Rig | undefined;

  beforeEach(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100 });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST_A } });
  });
  afterEach(async () => {
    await rig?.stop();
    rig = undefined;
    await sim.close();
  });

  async function start(options: { autoCampaign?: boolean; gateClosed?: boolean; etcd?: FakeEtcd } = {}): Promise<Rig> {
    const { dir, cleanup } = await writeFleet(fleetFiles());
    const etcd = options.etcd ?? new FakeEtcd();
    const coordinator = new FakeCoordinator(etcd, 'r1', { autoCampaign: options.autoCampaign ?? false });
    const gate = new Gate(options.gateClosed ?? false);
    const opened: (string | undefined)[] = [];
    const logs: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const source = new DirSource(dir);
    const syncs = { count: 0 };
    source.trigger = () => void (syncs.count += 1);
    const daemon = new Daemon({
      config: inProcessDaemonConfig(dir, { limits: { concurrency: 1, providers: {} } }),
      source,
      logger: createLogger('info', sink),
      prober: 'provider-state-only',
      env: {},
      factories: () =>
        Promise.resolve(async (context: ProviderContext) => {
          opened.push(context.fence?.token);
          return fenced(await aws.createProvider(context.config, sim, { fleet: context.fleet }), context.fence, gate);
        }),
      clockOf: () => () => sim.clock.now(),
      coordinator: (fleet) => {
        assert.equal(fleet, FLEET, 'the coordinator is built for the fleet id of the first revision');
        return coordinator;
      },
    });
    await daemon.start();
    const built: Rig = {
      daemon,
      etcd,
      coordinator,
      gate,
      opened,
      logs,
      syncs,
      dir,
      stop: async () => {
        gate.open();
        await daemon.stop();
        await cleanup();
      },
    };
    rig = built;
    return built;
  }

  const mutating = () => sim.engine.calls.list().filter((c) => c.action === 'RunInstances' || c.action === 'TerminateInstances');
  const live = () => sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && (i.state === 'pending' || i.state === 'running'));
  const converged = () => live().length === GROUPS.length && live().every((i) => i.state === 'running');

  it('tells the coordinator the fleet id of each revision: the coordinator judges a rename', async () => {
    const r = await start();
    await waitFor(() => r.coordinator.lanesSeen.length > 0, 'the coordinator learns the lanes');
    assert.deepEqual(r.coordinator.fleetsSeen, []);
    await writeFile(path.join(r.dir, 'fleet.yaml'), `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET}-renamed }\n`);
    r.daemon.reconcile('api');
    await waitFor(() => r.coordinator.fleetsSeen.length > 0, 'the coordinator hears the new fleet id');
    assert.deepEqual(r.coordinator.fleetsSeen, [`${FLEET}-renamed`]);
  });

  it('runs no lane until the coordinator hands it one; then converges, publishes, and reports the lane', async () => {
    const r = await start();
    await waitFor(() => r.coordinator.lanesSeen.length > 0, 'the coordinator learns the lanes');
    assert.deepEqual(r.coordinator.lanesSeen[0], [LANE]);
    assert.deepEqual(sim.engine.calls.list(), [], 'nothing was asked of the cloud: no lane runs unheld');
    assert.deepEqual(r.daemon.readiness(), { ready: true, reason: 'ok (standby: holds no lane)' });

    const hold = r.coordinator.grant(LANE);
    await waitFor(converged, 'the held lane converges');
    await waitFor(() => r.daemon.readiness().ready, 'ready once the held lane finished a pass');
    assert.deepEqual(r.opened, [hold.token], "the provider was opened with the hold's fence");
    await waitFor(() => r.etcd.summaries.has(LANE), 'a summary is published');
    const summary = r.etcd.summaries.get(LANE)!;
    assert.equal(summary.token, hold.token);
    assert.deepEqual(
      (summary.data['groups'] as { name: string }[]).map((g) => g.name),
      GROUPS,
    );
    assert.ok(JSON.stringify(summary.data).length < 4096, 'the summary stays small');

    const status = r.daemon.statusView() as { groups: { name: string; heldBy: string }[]; ha: { replica: string; lanes: unknown[] } };
    assert.equal(status.ha.replica, 'r1');
    assert.deepEqual(status.ha.lanes, [
      {
        lane: LANE,
        holder: { replica: 'r1', token: hold.token, since: new Date(hold.since).toISOString() },
        here: true,
        summary: { replica: 'r1', token: hold.token, publishedAt: summary.publishedAt, revision: summary.data['revision'] },
      },
    ]);
    assert.deepEqual(
      status.groups.map((g) => [g.name, g.heldBy]),
      GROUPS.map((g) => [g, 'r1']),
    );
    const metrics = await r.daemon.metrics.registry.metrics();
    assert.match(metrics, /^drover_ha_lane_held\{lane="aws-eu"\} 1$/m);
    assert.match(metrics, /^drover_ha_lanes_held 1$/m);
    assert.match(metrics, /^drover_ha_etcd_ok 1$/m);
    assert.match(metrics, /^drover_ha_lane_holder\{lane="aws-eu",replica="r1"\} 1$/m);
    assert.match(metrics, /^drover_group_condition\{group="g1",type="Ready",status="\w+"\} 1$/m, 'the holder reports its groups');

    await r.daemon.stop();
    const order = r.etcd.journal.filter((e) => /^(stopLane|deleted|stop )/.test(e));
    assert.deepEqual(order, [`stopLane ${LANE}`, `stopLane ${LANE} done`, `deleted ${LANE}#${hold.token}`, 'stop r1']);
    assert.equal(r.etcd.keys.has(LANE), false, 'the lane is free for another replica');
    const after = await r.daemon.metrics.registry.metrics();
    assert.doesNotMatch(after, /^drover_group_condition\{group="g/m, "a lane given up leaves its groups' series to the next holder");
    assert.match(after, /^drover_ha_lanes_held 0$/m);
  });

  it('stopLane skips the queued creates and resolves only after the call in flight; a new hold reopens the provider and resumes', async () => {
    const r = await start({ gateClosed: true });
    await waitFor(() => r.coordinator.lanesSeen.length > 0, 'the coordinator learns the lanes');
    const first = r.coordinator.grant(LANE);
    await waitFor(() => r.gate.entered === 1, 'the first create is sent and held in flight');
    let stopped = false;
    const resigning = r.coordinator.resign(LANE).then(() => {
      stopped = true;
    });
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false, 'stopLane waits for the call in flight');
    r.gate.open();
    await resigning;
    assert.equal(r.gate.entered, 1, 'the two queued creates were skipped, never sent');
    assert.deepEqual(
      mutating().map((c) => c.action),
      ['RunInstances'],
      'the cloud saw exactly the call in flight',
    );
    assert.equal(live().length, 1);
    const journal = r.etcd.journal;
    assert.ok(
      journal.indexOf(`stopLane ${LANE} done`) < journal.indexOf(`deleted ${LANE}#${first.token}`),
      'the key goes after the lane stopped',
    );

    const second = r.coordinator.grant(LANE);
    assert.ok(Number(second.token) > Number(first.token));
    await waitFor(converged, 'the new hold converges the lane');
    assert.deepEqual(r.opened, [first.token, second.token], 'the provider was reopened with the new fence');
    assert.equal(live().length, GROUPS.length, 'no duplicate launch');
  });

  it('a fence lost mid-pass: no further create or delete reaches the cloud', async () => {
    const r = await start({ gateClosed: true });
    await waitFor(() => r.coordinator.lanesSeen.length > 0, 'the coordinator learns the lanes');
    r.coordinator.grant(LANE);
    await waitFor(() => r.gate.entered === 1, 'the first create is sent and held in flight');
    const fence = r.coordinator.fenceOf(LANE)!;
    // The hold is known lost (another replica took the lane) before the coordinator stops the lane.
    fence.lose('LaneTaken');
    r.gate.open();
    await waitFor(() => mutating().length === 1 && live().length === 1, 'the call in flight finishes');
    await r.coordinator.lose(LANE, 'LaneTaken');
    // More looks: the API trigger wakes every lane (none runs here any more).
    r.daemon.reconcile('api');
    await waitFor(() => r.coordinator.triggersSent.includes('api'), 'the trigger is forwarded through the coordinator');
    await sleep(300);
    assert.equal(fence.checks, 1, 'no queued create even asked the fence: they were skipped');
    assert.deepEqual(
      mutating().map((c) => c.action),
      ['RunInstances'],
      'the cloud saw nothing after the loss but the call already sent',
    );
    assert.equal(live().length, 1);
    const metrics = await r.daemon.metrics.registry.metrics();
    assert.match(metrics, /^drover_ha_lane_held\{lane="aws-eu"\} 0$/m);
    assert.match(metrics, /^drover_ha_lanes_held 0$/m);
  });

  it('a call refused with FenceLost stops the pass (one warning, no backoff, no Stalled); the lane carries on once the fence holds', async () => {
    const r = await start();
    await waitFor(() => r.coordinator.lanesSeen.length > 0, 'the coordinator learns the lanes');
    r.coordinator.grant(LANE);
    const fence = r.coordinator.fenceOf(LANE)!;
    // The fence's checks as the first warning is logged: the halted lane looks again after the
    // progress interval (100 ms), so later counts include the next passes' checks.
    let checksAtWarning: number | undefined;
    const push = r.logs.push.bind(r.logs);
    r.logs.push = (...entries) => {
      if (checksAtWarning === undefined && entries.some((e) => String(e['msg']).startsWith('lane fence lost')))
        checksAtWarning = fence.checks;
      return push(...entries);
    };
    fence.refuseWith = 'EtcdUnreachable';
    await waitFor(() => fence.checks >= 1, 'a create asks the fence');
    await waitFor(
      () =>
        r.logs.some(
          (l) => l['msg'] === 'lane fence lost: this replica may no longer act on the lane; its queued creates and deletes are skipped',
        ),
      'the loss is logged',
    );
    assert.equal(checksAtWarning, 1, 'the other queued creates were skipped');
    assert.deepEqual(mutating(), [], 'nothing reached the cloud');
    const warning = r.logs.find((l) => l['msg']?.toString().startsWith('lane fence lost'))!;
    assert.equal(warning['lane'], LANE);
    assert.equal(warning['fenceToken'], fence.token);
    assert.equal(warning['reason'], 'EtcdUnreachable');
    assert.equal(
      r.logs.filter((l) => l['level'] === 40 && l['msg'] === 'create failed').length,
      0,
      'the refused create is not logged as a failure',
    );
    for (const g of GROUPS) {
      const view = r.daemon.status.get(g);
      assert.equal(view?.lastError, undefined, `${g}: no lastError`);
      assert.ok(!view?.conditions.some((c) => c.type === 'Stalled' && c.status === 'True'), `${g}: not Stalled`);
    }
    const metrics = await r.daemon.metrics.registry.metrics();
    const refusals = Number(/^drover_ha_fence_refusals_total\{lane="aws-eu",reason="EtcdUnreachable"\} (\d+)$/m.exec(metrics)?.[1]);
    // One refusal per halted pass (the lane looks again every progress interval), never more than checks.
    assert.ok(refusals >= 1 && refusals <= fence.checks, `refusals ${refusals}, checks ${fence.checks}`);

    fence.refuseWith = undefined;
    await waitFor(converged, 'the lane converges once the fence confirms the hold again');
    assert.equal(live().length, GROUPS.length);
  });

  it('status, metrics and readiness of a standby while another replica holds the lane', async () => {
    const etcd = new FakeEtcd();
    const other = new FakeCoordinator(etcd, 'r2', { autoCampaign: false });
    await other.start({ acquired: () => undefined, stopLane: () => Promise.resolve() });
    other.setLanes([LANE]);
    const held = other.grant(LANE);
    await other.publish(LANE, {
      revision: 'abc123',
      groups: [
        {
          name: 'g1',
          provider: LANE,
          replicas: 1,
          strategy: 'rolling',
          desiredTemplateHash: 'h1',
          conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }],
          waitingFor: [],
        },
      ],
      omittedGroups: 0,
      listed: { instances: 1, running: 1 },
      deletes: 0,
    });
    const r = await start({ autoCampaign: true, etcd });
    await waitFor(() => r.coordinator.lanesSeen.length > 0, 'the coordinator learns the lanes');
    assert.equal(r.coordinator.holds().size, 0, 'the lane is taken: r1 stands by');
    assert.deepEqual(r.daemon.readiness(), { ready: true, reason: 'ok (standby: holds no lane)' });
    const status = r.daemon.statusView() as {
      groups: { name: string; lane: string; heldBy: string; conditions: unknown[] }[];
      ha: { lanes: { lane: string; here: boolean; holder: { replica: string; token: string } }[] };
    };
    assert.deepEqual(
      status.ha.lanes.map((l) => [l.lane, l.holder.replica, l.holder.token, l.here]),
      [[LANE, 'r2', held.token, false]],
    );
    assert.deepEqual(
      status.groups.map((g) => [g.name, g.lane, g.heldBy]),
      [['g1', LANE, 'r2']],
    );
    assert.deepEqual(status.groups[0]!.conditions, [{ type: 'Ready', status: 'True', reason: 'Ready' }]);
    assert.deepEqual(r.daemon.groupView('g1'), status.groups[0], 'GET /api/v1/groups/g1 answers from the summary too');
    const metrics = await r.daemon.metrics.registry.metrics();
    assert.match(metrics, /^drover_ha_lanes_held 0$/m);
    assert.match(metrics, /^drover_ha_etcd_ok 1$/m);
    assert.match(metrics, /^drover_ha_lane_holder\{lane="aws-eu",replica="r2"\} 1$/m, 'every lane with its holder, held elsewhere too');
    assert.deepEqual(sim.engine.calls.list(), [], 'the standby never asked the cloud');

    // A reconcile request or a webhook landing on another replica reaches this one (and back).
    await other.trigger('api');
    assert.equal(r.syncs.count, 1, "another replica's request makes this one sync its source");
    r.daemon.webhookTriggered();
    assert.deepEqual(r.coordinator.triggersSent, ['webhook'], 'a webhook landing here is forwarded to every replica');
    await waitFor(() => r.syncs.count === 2, 'the forwarded webhook reaches this replica too');

    etcd.up = false;
    assert.deepEqual(r.daemon.readiness(), { ready: false, reason: 'high availability: etcd unreachable' });
    const cutOff = await r.daemon.metrics.registry.metrics();
    assert.match(cutOff, /^drover_ha_etcd_ok 0$/m);
    assert.doesNotMatch(cutOff, /^drover_ha_lane_holder\{/m, 'no lane map from before the outage presented as current');
    const whileDown = r.daemon.statusView() as {
      groups: { name: string; conditions: { type: string; status: string; reason: string }[] }[];
    };
    assert.deepEqual(
      whileDown.groups.map((g) => [g.name, g.conditions]),
      [['g1', [{ type: 'Ready', status: 'Unknown', reason: 'EtcdUnreachable' }]]],
      "a group of another replica's lane is not shown Ready while etcd cannot say it is held",
    );
    etcd.up = true;
  });
});

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}
