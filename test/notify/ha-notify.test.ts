/**
 * Notifications under high availability: two in-process daemons share a fleet of two lanes
 * through the in-memory coordinator (test/ha/fake-coordinator.ts), one lane each, against the EC2
 * simulator. A digest bump rolls both groups; each replica's webhook goes to its own path of one
 * recording receiver. Each group's rollout is announced once, by the replica holding its lane; the
 * revision event once, by the replica holding the first lane (the one that speaks for the fleet).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import { NotifyHub } from '../../src/notify/hub.ts';
import { Notifier, SINK_DEFAULTS } from '../../src/notify/notifier.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { DIGEST_A, DIGEST_B, writeFleet } from '../helpers/fleet-files.ts';
import { FakeCoordinator, FakeEtcd } from '../ha/fake-coordinator.ts';
import { capturingLog, startRecordingServer } from './recording-server.ts';
import type { RecordingServer } from './recording-server.ts';

const FLEET = 'ha-notify';
const LANES = ['aws-a', 'aws-b'];
const AMI = { [DIGEST_A]: 'ami-0e1e2e3e4e5e6e7e8', [DIGEST_B]: 'ami-0f1f2f3f4f5f6f7f8' };

function image(digest: string): string {
  const artifacts = LANES.map((lane) => `${lane}: { id: ${AMI[digest]} }`).join(', ');
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest}\n  artifacts: { ${artifacts} }\n`;
}

function fleetFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\n`,
    'image.yaml': image(DIGEST_A),
  };
  for (const lane of LANES) {
    files[`${lane}.yaml`] = `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${lane} }\nspec: { type: aws, region: eu-west-1 }\n`;
    files[`web-${lane}.yaml`] =
      `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-${lane} }\nspec:\n  provider: ${lane}\n  image: web\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;
  }
  return files;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

describe('notify under HA: each group announced by its lane holder, the revision by one replica', function () {
  this.timeout(90_000);
  let sim: Ec2Simulator;
  let receiver: RecordingServer;
  let stops: (() => Promise<void>)[] = [];

  beforeEach(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100 });
    for (const [digest, id] of Object.entries(AMI)) sim.addImage({ id, tags: { [TAG.digest]: digest } });
    receiver = await startRecordingServer();
  });
  afterEach(async () => {
    // Last registered first: the daemons stop before their fleet directory (and state) is removed.
    for (const stop of stops.toReversed()) await stop();
    stops = [];
    await receiver.close();
    await sim.close();
  });

  async function replica(name: string, etcd: FakeEtcd, dir: string): Promise<FakeCoordinator> {
    const coordinator = new FakeCoordinator(etcd, name, { autoCampaign: false });
    const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
    const daemon = new Daemon({
      config: inProcessDaemonConfig(dir, { stateDir: path.join(dir, `.state-${name}`), limits: { concurrency: 4, providers: {} } }),
      source: new DirSource(dir),
      logger: createLogger('error', quiet),
      prober: 'provider-state-only',
      env: {},
      factories: () => Promise.resolve((context: ProviderContext) => aws.createProvider(context.config, sim, { fleet: context.fleet })),
      clockOf: () => () => sim.clock.now(),
      coordinator: () => coordinator,
      notify: (_registry, speaksForFleet) =>
        new NotifyHub({
          notifier: new Notifier([{ ...SINK_DEFAULTS, name: 'hook', target: { type: 'webhook', url: `${receiver.url}/${name}` } }], {
            log: capturingLog(),
          }),
          ...(speaksForFleet ? { speaksForFleet } : {}),
        }),
    });
    await daemon.start();
    stops.push(() => daemon.stop());
    return coordinator;
  }

  const live = (digest: string) =>
    sim.world
      .list()
      .filter((i) => i.tags[TAG.fleet] === FLEET && i.image === AMI[digest] && (i.state === 'pending' || i.state === 'running'));
  const sent = (from: string) =>
    receiver.requests.filter((r) => r.path === `/${from}`).map((r) => JSON.parse(r.body) as { kind: string; group?: string });
  /** What `from` sent, progress events left out: `kind group`. */
  const core = (from: string) =>
    sent(from)
      .filter((e) => e.kind !== 'RolloutProgressing')
      .map((e) => `${e.kind}${e.group ? ` ${e.group}` : ''}`);

  it('a digest bump rolling two lanes on two replicas', async () => {
    const { dir, cleanup } = await writeFleet(fleetFiles());
    stops.push(cleanup);
    const etcd = new FakeEtcd();
    const r1 = await replica('r1', etcd, dir);
    const r2 = await replica('r2', etcd, dir);
    await waitFor(() => r1.lanesSeen.length > 0 && r2.lanesSeen.length > 0, 'both replicas learn the lanes');
    r1.grant('aws-a');
    r2.grant('aws-b');
    await waitFor(() => live(DIGEST_A).filter((i) => i.state === 'running').length === 4, 'both groups run build A');
    await sleep(300);
    receiver.requests.length = 0;

    await writeFile(path.join(dir, 'image.yaml'), image(DIGEST_B));
    await waitFor(
      () => live(DIGEST_B).filter((i) => i.state === 'running').length === 4 && live(DIGEST_A).length === 0,
      'both groups roll to build B',
    );
    await waitFor(() => [...sent('r1'), ...sent('r2')].filter((e) => e.kind === 'RolloutFinished').length === 2, 'both rollouts announced');
    await sleep(500);

    // r1 holds aws-a, the first lane: it speaks for the fleet (the revision) and for web-aws-a.
    assert.deepEqual(core('r1'), ['RevisionApplied', 'RolloutStarted web-aws-a', 'RolloutFinished web-aws-a']);
    assert.deepEqual(core('r2'), ['RolloutStarted web-aws-b', 'RolloutFinished web-aws-b']);
  });
});
