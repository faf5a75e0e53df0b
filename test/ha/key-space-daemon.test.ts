/**
 * A replica of the fleet given another key space by mistake (another ha.etcd.prefix, another etcd
 * cluster: attack21b N0) holds every lane in a key space of its own. Two daemons, each with its own
 * in-memory coordinator (two key spaces), one EC2 simulator: after the first converged the fleet
 * and stopped, an instance is terminated out of band and the second takes the lane. It sees the
 * recent launches of the other key space and acts on nothing (no mutating call in the simulator's
 * record), its status naming both key spaces; without the check it relaunched the slot.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { DIGEST_A, writeFleet } from '../helpers/fleet-files.ts';
import { FakeCoordinator, FakeEtcd } from './fake-coordinator.ts';

const AMI = 'ami-0a1b2c3d4e5f60718';
const FLEET = 'ks-fleet';
const LANE = 'aws-eu';
const GROUPS = ['g1', 'g2'];
const OURS = '0123456789abcdef';
const THEIRS = 'fedcba9876543210';

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

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting: ${what}`);
    await sleep(20);
  }
}

interface Replica {
  readonly daemon: Daemon;
  readonly coordinator: FakeCoordinator;
  stop(): Promise<void>;
}

describe('daemon under HA: a lane that lists recent launches of another key space acts on nothing', function () {
  this.timeout(60_000);
  let sim: Ec2Simulator;
  const replicas: Replica[] = [];

  beforeEach(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100 });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST_A } });
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.stop()));
    await sim.close();
  });

  async function start(id: string, keySpace: string): Promise<Replica> {
    const { dir, cleanup } = await writeFleet(fleetFiles());
    const etcd = new FakeEtcd();
    etcd.keySpace = keySpace;
    const coordinator = new FakeCoordinator(etcd, id, { autoCampaign: false });
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const daemon = new Daemon({
      config: inProcessDaemonConfig(dir, { limits: { concurrency: 1, providers: {} } }),
      source: new DirSource(dir),
      logger: createLogger('info', sink),
      prober: 'provider-state-only',
      env: {},
      factories: () =>
        Promise.resolve((context: ProviderContext) =>
          aws.createProvider(context.config, sim, {
            fleet: context.fleet,
            ...(context.fence === undefined ? {} : { fence: context.fence }),
          }),
        ),
      clockOf: () => () => sim.clock.now(),
      coordinator: () => coordinator,
    });
    await daemon.start();
    const replica = {
      daemon,
      coordinator,
      stop: async () => {
        await daemon.stop();
        await cleanup();
      },
    };
    replicas.push(replica);
    return replica;
  }

  const live = () => sim.world.list().filter((i) => i.tags[TAG.fleet] === FLEET && (i.state === 'pending' || i.state === 'running'));
  const mutating = () => sim.engine.calls.list().filter((c) => c.action === 'RunInstances' || c.action === 'TerminateInstances');

  it('the other key space holder sends nothing and says why, naming both key spaces', async () => {
    const a = await start('ra', OURS);
    await waitFor(() => a.coordinator.lanesSeen.length > 0, 'a learns the lanes');
    a.coordinator.grant(LANE);
    await waitFor(() => live().length === GROUPS.length && live().every((i) => i.state === 'running'), 'a converges');
    assert.ok(
      live().every((i) => i.tags[TAG.keySpace] === OURS),
      "every launch carries a's key space in the cloud's record",
    );
    await a.stop();
    replicas.splice(replicas.indexOf(a), 1);
    const victim = live()[0]!;
    sim.world.terminate(victim.id, 'out-of-band');
    const before = mutating().length;

    const b = await start('rb', THEIRS);
    await waitFor(() => b.coordinator.lanesSeen.length > 0, 'b learns the lanes');
    b.coordinator.grant(LANE);
    await waitFor(() => JSON.stringify(b.daemon.statusView()).includes('ForeignKeySpace'), "b's status names the refusal");
    b.daemon.reconcile('api');
    await sleep(300); // a few of b's passes (the simulator's clock runs 100x)
    const status = JSON.stringify(b.daemon.statusView());
    assert.ok(status.includes(OURS) && status.includes(THEIRS), 'the status names both key spaces');
    assert.deepEqual(mutating().slice(before), [], 'b sent no create and no delete');
    assert.equal(live().length, GROUPS.length - 1, 'the slot stays empty: nobody of the other key space fills it');
  });
});
