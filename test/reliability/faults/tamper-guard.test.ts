/**
 * The deletion guard across lanes (attack24 F1): every instance of a three-cloud fleet (EC2, GCE,
 * PVE; one group each, `maxUnavailable: 100%`, default `drift.modified: replace`) is changed by hand
 * at once. Each lane alone would stay under `maxDeletePercent`, and the lanes pass one after another,
 * so a per-pass budget lets them delete most of the fleet; the fleet-wide window must not. Judged
 * from the simulators' worlds (every running instance of the fleet, across the three clouds, polled
 * throughout): the fleet never loses more than maxDeletePercent of its ready capacity, the guard
 * reports DeletionRefused, and every tampered instance is still replaced in the end, as earlier
 * replacements become ready and release their share.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProviderType } from '../../../src/contract/fleet.ts';
import type { ProviderContext } from '../../../src/contract/provider.ts';
import { Daemon } from '../../../src/reconcile/daemon.ts';
import { DirSource } from '../../../src/reconcile/desired-source.ts';
import { createLogger } from '../../../src/status/logger.ts';
import { inProcessDaemonConfig } from '../../helpers/daemon-config.ts';
import { writeFleet } from '../../helpers/fleet-files.ts';
import { digestOf, FLEET } from '../../helpers/harness.ts';
import type { CloudSim, TestCloud } from '../../clouds/types.ts';
import { simAction } from '../../e2e/tamper-scenarios.ts';
import { awsFaultAdapter, gcpFaultAdapter, proxmoxFaultAdapter } from './adapters.ts';

const FACTOR = 100;
const MAX_DELETE_PERCENT = 40;

interface Cloud {
  readonly name: string;
  readonly type: ProviderType;
  readonly adapter: TestCloud;
  readonly replicas: number;
  /** A change by hand that the tamper comparer finds (the simulator's `modify` keys). */
  readonly tamper: Readonly<Record<string, unknown>>;
}

// 11 ready instances; 40 % of them is 4: each group alone (4, 4, 3) fits, any two do not.
const CLOUDS: readonly Cloud[] = [
  { name: 'aws', type: 'aws', adapter: awsFaultAdapter, replicas: 4, tamper: { instanceType: 't3.large' } },
  { name: 'gcp', type: 'gcp', adapter: gcpFaultAdapter, replicas: 4, tamper: { machineType: 'e2-standard-8' } },
  { name: 'pve', type: 'proxmox', adapter: proxmoxFaultAdapter, replicas: 3, tamper: { cores: 8 } },
];
const FLEET_SIZE = CLOUDS.reduce((n, c) => n + c.replicas, 0);

function fleetYaml(): string {
  const docs = [
    `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${FLEET} }\nspec: { deletionGuard: { maxDeletePercent: ${MAX_DELETE_PERCENT} } }\n`,
    ...CLOUDS.map((c) => `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${c.name} }\nspec: ${c.adapter.providerSpec}\n`),
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${digestOf(1)}\n  artifacts: { ${CLOUDS.map((c) => `${c.name}: ${c.adapter.artifact(1)}`).join(', ')} }\n`,
    ...CLOUDS.map(
      (c) =>
        `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-${c.name} }\nspec:\n  provider: ${c.name}\n  image: app\n  replicas: ${c.replicas}\n${c.adapter.groupPlacement}  rollout: { maxSurge: 0, maxUnavailable: 100%, minReadySeconds: 0 }\n`,
    ),
  ];
  return docs.join('---\n');
}

type WorldInstance = ReturnType<CloudSim['world']['list']>[number];

/** The group's instances not terminated or terminating (every other state counted). */
function live(cloud: Cloud, sim: CloudSim): WorldInstance[] {
  return sim.world
    .list()
    .filter(
      (i) =>
        cloud.adapter.ownership(i, 'fleet') === FLEET &&
        cloud.adapter.ownership(i, 'group') === `web-${cloud.name}` &&
        i.state !== 'terminated' &&
        i.state !== 'terminating',
    );
}

function running(sims: ReadonlyMap<string, CloudSim>): number {
  return CLOUDS.reduce((n, c) => n + live(c, sims.get(c.name)!).filter((i) => i.state === 'running').length, 0);
}

function daemonFor(dir: string, sims: ReadonlyMap<string, CloudSim>): Daemon {
  const config = inProcessDaemonConfig(dir, {
    providers: { pve: { type: 'proxmox', endpoint: 'https://pve.invalid:8006', credentials: { tokenId: 'drover@pve!sim' } } },
  });
  const byType = new Map(CLOUDS.map((c) => [c.type, c]));
  return new Daemon({
    config,
    source: new DirSource(dir),
    logger: createLogger('fatal'),
    prober: 'provider-state-only',
    env: process.env,
    factories: (type) => {
      const cloud = byType.get(type);
      return Promise.resolve(cloud && ((context: ProviderContext) => cloud.adapter.createProvider(context.config, sims.get(cloud.name)!)));
    },
  });
}

async function until(what: string, done: () => boolean, onEach: () => void = () => undefined): Promise<void> {
  for (let waited = 0; !done(); waited++) {
    assert.ok(waited < 4000, `timed out waiting: ${what}`);
    await sleep(15);
    onEach();
  }
}

describe('deletion guard across lanes: every instance of a three-cloud fleet tampered at once (attack24 F1)', function () {
  this.timeout(180_000);

  it('never deletes more than maxDeletePercent of the fleet, reports DeletionRefused, and still replaces every tampered instance', async () => {
    const { dir, cleanup } = await writeFleet({ 'fleet.yaml': fleetYaml() });
    const sims = new Map<string, CloudSim>();
    let daemon: Daemon | undefined;
    try {
      for (const c of CLOUDS) {
        const sim = await c.adapter.startSim({ factor: FACTOR, throttling: true });
        c.adapter.addBuild(sim, 1, digestOf(1));
        sims.set(c.name, sim);
      }
      daemon = daemonFor(dir, sims);
      await daemon.start();
      const converged = (): boolean =>
        CLOUDS.every((c) => {
          const own = live(c, sims.get(c.name)!);
          return own.length === c.replicas && own.every((i) => i.state === 'running');
        });
      await until('the fleet converged', converged);
      const tampered = new Set<string>();
      await Promise.all(
        CLOUDS.flatMap((c) =>
          live(c, sims.get(c.name)!).map((i) => {
            tampered.add(i.id);
            return simAction(sims.get(c.name)!, { action: 'modify', instanceId: i.id, changes: c.tamper });
          }),
        ),
      );
      let minRunning = running(sims);
      let refused = false;
      const watch = (): void => {
        minRunning = Math.min(minRunning, running(sims));
        refused ||= CLOUDS.some((c) =>
          daemon!.status.get(`web-${c.name}`)?.conditions.some((k) => k.reason === 'DeletionRefused' && k.status === 'True'),
        );
      };
      daemon.reconcile('tampered');
      const replaced = (): boolean => converged() && CLOUDS.every((c) => live(c, sims.get(c.name)!).every((i) => !tampered.has(i.id)));
      await until('every tampered instance replaced', replaced, watch);
      watch();
      const floor = FLEET_SIZE - Math.floor((FLEET_SIZE * MAX_DELETE_PERCENT) / 100);
      assert.ok(minRunning >= floor, `the fleet fell to ${minRunning} running instances of ${FLEET_SIZE} (floor ${floor})`);
      assert.ok(refused, 'the guard refused a lane (DeletionRefused) while another lane used the budget');
    } finally {
      await daemon?.stop();
      for (const sim of sims.values()) await sim.close();
      await cleanup();
    }
  });
});
