/**
 * The real `drover run` process against each cloud's simulator, when a commit changes the fleet id
 * (Fleet metadata.name) of a running fleet. Instance names do not carry the fleet id, so the new
 * id's slots meet the old id's instances on their names. Judged from the simulator's world: the
 * new id never has more than replicas + maxSurge instances launched for the group (on GCE a
 * provider kept from the old id once walked 24 names per slot and launched 92 for 4 replicas), and
 * the old id's instances are never touched. Where names are unique (GCE, Azure) the new id's
 * launches are refused, naming the instance in the way.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { aws } from '../clouds/aws.ts';
import { azure } from '../clouds/azure.ts';
import { gcp } from '../clouds/gcp.ts';
import { proxmox } from '../clouds/proxmox.ts';
import type { CloudSim, TestCloud } from '../clouds/types.ts';
import { digestOf } from '../helpers/harness.ts';
import { isReady, startDaemon } from '../helpers/daemon-process.ts';
import type { DaemonProcess } from '../helpers/daemon-process.ts';
import { tempDir, TestRepo } from '../source/helpers.ts';

const TOKEN = 'e2e-token-7d0c93a1';
const REPLICAS = 4;
/** replicas + maxSurge (25 % of 4). */
const CEILING = REPLICAS + 1;

function fleetYaml(adapter: TestCloud, fleet: string): string {
  return [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${fleet} }\n`,
    `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: cloud }\nspec: ${adapter.providerSpec}\n`,
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${digestOf(1)}\n  artifacts: { cloud: ${adapter.artifact(1)} }\n`,
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: cloud\n  image: app\n  replicas: ${REPLICAS}\n${adapter.groupPlacement}  rollout: { maxSurge: 25%, maxUnavailable: 0, minReadySeconds: 0 }\n`,
  ].join('---\n');
}

/** Polls `done` every 100 ms for up to a minute (the caller's assertions judge the outcome). */
async function waitFor(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done() && Date.now() < deadline) await sleep(100);
}

/** The clouds, and the reason their create refuses a slot whose name the old id's instance holds (none: names are not unique). */
const CLOUDS: readonly (readonly [TestCloud, string | undefined])[] = [
  [gcp as unknown as TestCloud, 'NameTakenByAnotherFleet'],
  [aws as unknown as TestCloud, undefined],
  [azure as unknown as TestCloud, 'VmModelMismatch'],
  [proxmox as unknown as TestCloud, undefined],
];

for (const [adapter, refusal] of CLOUDS)
  describe(`e2e: a fleet id change under drover run (${adapter.kind} simulator)`, function () {
    this.timeout(120_000);
    let sim: CloudSim;
    let repo: TestRepo;
    let tmp: { path: string; cleanup: () => void };
    let daemon: DaemonProcess | undefined;

    before(async () => {
      tmp = tempDir('drover-fleet-rename-');
      repo = new TestRepo(tmp.path);
      repo.commit({ 'fleet.yaml': fleetYaml(adapter, 'acme') }, 'initial fleet');
      sim = await adapter.startSim({ factor: 200 });
      adapter.addBuild(sim, 1, digestOf(1));
    });
    after(async () => {
      await daemon?.kill();
      await sim?.close();
      tmp?.cleanup();
    });

    /** Every instance ever launched for group web with fleet label `fleet` (any state, gone ones too). */
    const launched = (fleet: string) =>
      sim.world.all().filter((i) => adapter.ownership(i, 'fleet') === fleet && adapter.ownership(i, 'group') === 'web');
    /** Daemon log lines that report a slot refused with `reason`. */
    const refusals = (reason: string) => daemon!.logs.filter((l) => l.includes(reason)).length;
    const running = (fleet: string) => launched(fleet).filter((i) => i.state === 'running').length;

    it(`launches at most replicas + maxSurge for the new id and leaves the old instances alone${refusal === undefined ? '' : `; refuses with ${refusal}`}`, async () => {
      daemon = await startDaemon(
        {
          DROVER_SOURCE__GIT__URL: repo.url,
          DROVER_SOURCE__GIT__INTERVAL: '300ms',
          DROVER_STATE_DIR: path.join(tmp.path, 'state'),
          DROVER_RESYNC_INTERVAL: '500ms',
          DROVER_API__TOKEN_ENV: 'E2E_API_TOKEN',
          E2E_API_TOKEN: TOKEN,
          ...adapter.daemonEnv(sim, 'cloud', tmp.path),
        },
        TOKEN,
      );
      await daemon.waitForStatus((s) => isReady(s, 'web'), 60_000);
      const old = launched('acme').map((i) => i.id);
      assert.equal(old.length, REPLICAS);

      const renamedAt = sim.engine.clock.now();
      const renamed = repo.commit({ 'fleet.yaml': fleetYaml(adapter, 'acme-renamed') }, 'fleet id change');
      await daemon.waitForStatus((s) => s.source.lastAppliedRevision === renamed, 60_000);
      if (refusal === undefined) await waitFor(() => running('acme-renamed') >= REPLICAS);
      else await waitFor(() => refusals(refusal) >= 2 * REPLICAS);
      await sleep(1000);

      const renamedLaunches = launched('acme-renamed');
      assert.ok(
        renamedLaunches.length <= CEILING,
        `${renamedLaunches.length} instances launched for the renamed fleet (ceiling ${CEILING}); daemon:\n${daemon.logs.slice(-10).join('\n')}`,
      );
      if (refusal === undefined) assert.equal(running('acme-renamed'), REPLICAS, 'the new id runs its replicas beside the old ones');
      else {
        assert.equal(renamedLaunches.length, 0, 'every name is held by the old id: nothing is launched beside them');
        assert.ok(refusals(refusal) >= 2 * REPLICAS, 'each pass reports the refusal for every slot');
      }
      const touched = sim.world.events().filter((e) => old.includes(e.instanceId) && e.cause === 'api' && e.at >= renamedAt);
      assert.deepEqual(touched, [], 'the old id instances are never touched (another fleet id: never listed, never deleted)');
      assert.equal(running('acme'), REPLICAS);
    });
  });
