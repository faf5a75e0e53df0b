/**
 * One lane, one key space (attack21b N0), on every cloud: a launch under HA records the key space
 * of its fencing token next to the token (EC2/Azure tag `drover:keyspace`, GCE label
 * `drover-keyspace`, Proxmox tag `drover-ks.` and description `keyspace=`), list() reads it back,
 * and a holder from another key space (another ha.etcd.prefix or etcd cluster) refuses to act on
 * the lane: its list fails with ForeignKeySpace naming both key spaces, so a pass plans nothing
 * there. Verdicts from the simulators' records (world, mutating calls).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import type { CreateRequest, Provider } from '../../src/contract/provider.ts';
import { guardKeySpace } from '../../src/reconcile/key-space-guard.ts';
import { ReconcileError } from '../../src/reconcile/errors.ts';
import { aws } from '../clouds/aws.ts';
import { azure } from '../clouds/azure.ts';
import { gcp } from '../clouds/gcp.ts';
import { proxmox } from '../clouds/proxmox.ts';
import type { CloudSim, TestCloud } from '../clouds/types.ts';
import * as awsFixtures from './aws/fixtures.ts';
import * as azureFixtures from './azure/sim-fixtures.ts';
import { rejectionOf, TestFence } from './fence-fixtures.ts';
import * as gcpFixtures from './gcp/fixtures.ts';
import * as pveFixtures from './proxmox/fixtures.ts';

const OURS = '0123456789abcdef';
const THEIRS = 'fedcba9876543210';

/** A TestFence issued in `keySpace`. */
function fenceIn(token: string, keySpace: string): TestFence {
  const fence = new TestFence(token) as TestFence & { keySpace: string };
  fence.keySpace = keySpace;
  return fence;
}

interface Case {
  readonly cloud: TestCloud<CloudSim, object, object>;
  readonly config: ProviderConfig;
  readonly request: (group: string, slot: number) => CreateRequest;
  readonly startSim: () => Promise<CloudSim>;
  readonly fleet: string;
}

function pick(fixtures: {
  request: Case['request'];
  startSim: () => Promise<unknown>;
  FLEET: string;
}): Pick<Case, 'request' | 'startSim' | 'fleet'> {
  return { request: fixtures.request, startSim: () => fixtures.startSim() as Promise<CloudSim>, fleet: fixtures.FLEET };
}

const CASES: Case[] = [
  { cloud: aws as unknown as Case['cloud'], config: awsFixtures.CONFIG, ...pick(awsFixtures) },
  { cloud: gcp as unknown as Case['cloud'], config: gcpFixtures.CONFIG, ...pick(gcpFixtures) },
  { cloud: azure as unknown as Case['cloud'], config: azureFixtures.CONFIG, ...pick(azureFixtures) },
  { cloud: proxmox as unknown as Case['cloud'], config: pveFixtures.configOf(), ...pick(pveFixtures) },
];

for (const { cloud, config, request, startSim, fleet } of CASES) {
  describe(`${cloud.kind}: launches record their HA key space; another key space's holder refuses the lane`, function () {
    this.timeout(30_000);
    let sim: CloudSim;
    let stateDir: string;
    const providers: Provider[] = [];

    beforeEach(async () => {
      sim = await startSim();
      stateDir = mkdtempSync(path.join(tmpdir(), 'drover-key-space-'));
    });
    afterEach(async () => {
      await Promise.all(providers.splice(0).map((p) => p.close?.()));
      await sim.close();
      rmSync(stateDir, { recursive: true, force: true });
    });

    const open = async (fence: TestFence, dir: string): Promise<Provider> => {
      const provider = await cloud.createProvider(config, sim, { fleet, stateDir: dir, fence });
      providers.push(provider);
      await provider.list({ fleet });
      return provider;
    };

    it('the key space is in the cloud record and read back; a foreign holder lists ForeignKeySpace naming both and sends nothing', async () => {
      const theirs = await open(fenceIn('900', THEIRS), path.join(stateDir, 'theirs'));
      const launched = await theirs.create(request('web', 0));
      assert.ok(
        sim.world.all().some((i) => JSON.stringify(i).includes(THEIRS)),
        "the cloud's own record of the launch carries the key space",
      );
      const listed = await theirs.list({ fleet });
      assert.deepEqual(
        listed.filter((i) => i.id === launched.id).map((i) => i.keySpace),
        [THEIRS],
      );
      const calls = cloud.mutatingCalls(sim).length;

      const ours = guardKeySpace(await open(fenceIn('12', OURS), path.join(stateDir, 'ours')), OURS);
      const refusal = await rejectionOf(ours.list({ fleet }));
      assert.ok(refusal instanceof ReconcileError, `refused with a ReconcileError, got ${String(refusal)}`);
      assert.equal(refusal.reason, 'ForeignKeySpace');
      assert.match(refusal.message, new RegExp(`${THEIRS}.*${OURS}`));
      assert.equal(cloud.mutatingCalls(sim).length, calls, 'the foreign holder sent nothing');

      const same = guardKeySpace(theirs, THEIRS);
      assert.equal((await same.list({ fleet })).length, listed.length, 'its own key space is no refusal');
    });
  });
}
