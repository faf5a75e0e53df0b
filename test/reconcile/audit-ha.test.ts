/**
 * The audit of a daemon under HA (in-memory coordinator, EC2 simulator): a replica holding no lane
 * answers with every lane `NotHeldHere` and the report not complete (and no instance it did not
 * list); once it holds the lane, the lane's instances from its last full pass, complete.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator, type Ec2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { FakeCoordinator, FakeEtcd } from '../ha/fake-coordinator.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { DIGEST_A, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';

const AMI = 'ami-0a1b2c3d4e5f60718';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('audit under HA: what a replica answers for the lanes it does not hold', function () {
  this.timeout(60_000);
  let sim: Ec2Simulator | undefined;
  let daemon: Daemon | undefined;
  let cleanup: (() => Promise<void>) | undefined;

  after(async () => {
    await daemon?.stop();
    await sim?.close();
    await cleanup?.();
  });

  it('NotHeldHere and not complete while another replica (or none) holds the lane; the lane once held', async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100 });
    sim.addImage({ id: AMI, tags: { [TAG.digest]: DIGEST_A } });
    const fleet = await writeFleet(minimalFleet());
    cleanup = fleet.cleanup;
    const coordinator = new FakeCoordinator(new FakeEtcd(), 'r1', { autoCampaign: false });
    const running = sim;
    daemon = new Daemon({
      config: inProcessDaemonConfig(fleet.dir),
      source: new DirSource(fleet.dir),
      logger: createLogger('fatal'),
      prober: 'provider-state-only',
      env: {},
      factories: () => Promise.resolve((context: ProviderContext) => aws.createProvider(context.config, running, { fleet: context.fleet })),
      clockOf: () => () => running.clock.now(),
      coordinator: () => coordinator,
    });
    await daemon.start();
    const live = daemon;
    await waitFor('the lanes known', async () => (coordinator.lanesSeen.length > 0 ? true : undefined));

    const standby = await waitFor('a report', () => live.audit(30));
    assert.equal(standby.complete, false);
    assert.deepEqual(
      standby.providers.map((p) => [p.name, p.ok ? 'listed' : p.reason]),
      [['aws-eu', 'NotHeldHere']],
    );
    assert.match(standby.providers[0]!.ok ? '' : standby.providers[0]!.message, /not run by this replica/);
    assert.deepEqual(standby.instances, []);

    coordinator.grant('aws-eu');
    const held = await waitFor('the held lane audited', async () => {
      const report = await live.audit(30);
      return report?.complete === true && report.instances.length === 3 ? report : undefined;
    });
    assert.ok(
      held.instances.every((i) => i.template === 'matches' && i.revision?.startsWith('dir-')),
      JSON.stringify(held.instances),
    );
    assert.ok(
      held.instances.every((i) => i.provenance.source === 'dir' && i.provenance.signature.status === 'not-checked'),
      'a directory source: provenance recorded, no signature to check',
    );
  });
});
