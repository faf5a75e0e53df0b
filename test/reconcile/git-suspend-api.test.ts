/**
 * Resume through the API on a group suspended in Git (attack23b N11): the API cannot lift Git's
 * suspension, so the daemon refuses it with ControlConflict (the server answers 409 naming Git)
 * and records nothing, instead of answering done while the group stays suspended.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEc2Simulator } from '../../providers/aws/sim.ts';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import type { ProviderContext } from '../../src/contract/provider.ts';
import { Daemon } from '../../src/reconcile/daemon.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import { ControlConflict } from '../../src/status/http-server.ts';
import { createLogger } from '../../src/status/logger.ts';
import { aws } from '../clouds/aws.ts';
import { inProcessDaemonConfig } from '../helpers/daemon-config.ts';
import { DIGEST_A, writeFleet } from '../helpers/fleet-files.ts';

function group(name: string, suspend: boolean): string {
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: aws\n  image: web\n  replicas: 1\n  suspend: ${suspend}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n`;
}

describe('resume through the API of a group suspended in Git (attack23b N11)', function () {
  this.timeout(30_000);
  let sim: Ec2Simulator;
  beforeEach(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 100 });
  });
  afterEach(() => sim.close());

  it('is refused with ControlConflict naming Git; the group stays suspended by Git and an API suspension still works', async () => {
    const { dir, cleanup } = await writeFleet({
      'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: gitsus }\n`,
      'aws.yaml': `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws }\nspec: { type: aws, region: eu-west-1 }\n`,
      'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts: { aws: { id: ami-0a1a2a3a4a5a6a7a8 } }\n`,
      'held.yaml': group('held', true),
      'free.yaml': group('free', false),
    });
    const daemon = new Daemon({
      config: inProcessDaemonConfig(dir),
      source: new DirSource(dir),
      logger: createLogger('error', new Writable({ write: (_c, _e, done) => done() })),
      prober: 'provider-state-only',
      env: {},
      factories: () => Promise.resolve((context: ProviderContext) => aws.createProvider(context.config, sim, { fleet: context.fleet })),
      clockOf: () => () => sim.clock.now(),
    });
    try {
      await daemon.start();
      while (daemon.status.get('held')?.suspendedBy !== 'git') await sleep(20);
      const refused = await daemon.setSuspended('held', false).then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(refused instanceof ControlConflict, `refused, not done: ${String(refused)}`);
      assert.equal(refused.reason, 'SuspendedInGit');
      assert.match(refused.message, /suspend: true/);
      assert.equal(daemon.status.get('held')?.suspendedBy, 'git');
      assert.equal(await daemon.setSuspended('free', true), true, 'a group not suspended in Git is suspended through the API');
      assert.equal(await daemon.setSuspended('free', false), true);
    } finally {
      await daemon.stop();
      await cleanup();
    }
  });
});
