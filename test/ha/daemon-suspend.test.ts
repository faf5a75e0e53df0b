/**
 * API suspensions under HA (two in-process daemons, a real etcd, the EC2 simulator): a suspend
 * sent to the replica that does NOT hold the group's lane stops the holder from acting on it (a
 * digest bump committed afterwards launches and deletes nothing of that group, while the other
 * group rolls), both replicas' status show it suspended by the API, it follows the lane to the
 * other replica, a resume through another replica lets the rollout proceed, and with etcd down the
 * API answers 503 and nothing is recorded. A replica's pre-HA suspended.json is moved into etcd
 * once. Verdicts from the simulator's timeline and world and from etcd's keys.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TAG } from '../../providers/aws/tags.ts';
import { startHttpServer } from '../../src/status/http-server.ts';
import type { HttpServer } from '../../src/status/http-server.ts';
import { aws } from '../clouds/aws.ts';
import { DIGEST_A, DIGEST_B } from '../helpers/fleet-files.ts';
import { haDaemons } from './daemon-fixture.ts';
import { laneKeys, waitFor } from './ha-fixture.ts';

const AMI_A = 'ami-0a1b2c3d4e5f60718';
const AMI_B = 'ami-0b1b2c3d4e5f60719';
const LANES = ['aws-a', 'aws-b'];
const TOKEN = 'test-api-token';

const groupYamlOf = (lane: string) =>
  `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web-${lane.slice(-1)} }\nspec:\n  provider: ${lane}\n  image: web\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0 }\n`;

function fleetFiles(fleet: string, digest: string, ami: string): Record<string, string> {
  return {
    'fleet.yaml': `apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: ${fleet} }\n`,
    ...Object.fromEntries(
      LANES.map((lane) => [
        `${lane}.yaml`,
        `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: ${lane} }\nspec: { type: aws, region: eu-west-1 }\n---\n${groupYamlOf(lane)}`,
      ]),
    ),
    'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest}\n  artifacts: { ${LANES.map((l) => `${l}: { id: ${ami} }`).join(', ')} }\n`,
  };
}

interface GroupStatus {
  readonly name: string;
  readonly heldBy?: string | null;
  readonly suspendedBy?: string;
}

describe('API suspensions under HA (two daemons, real etcd, EC2 simulator)', function () {
  this.timeout(180_000);
  const ha = haDaemons({
    images: { [AMI_A]: DIGEST_A, [AMI_B]: DIGEST_B },
    provider: (context, sim) =>
      aws.createProvider(context.config, sim, { fleet: context.fleet, ...(context.fence ? { fence: context.fence } : {}) }),
  });
  /** Each running replica's API server. */
  const servers = new Map<string, HttpServer>();
  let dir: string;

  beforeEach(async () => {
    dir = await ha.writeFleet(fleetFiles(ha.fleet, DIGEST_A, AMI_A));
  });
  afterEach(async () => {
    for (const replica of servers.keys()) await stopReplica(replica);
  });

  const stateDirOf = (replica: string) => ha.stateDir(dir, replica);
  const daemonOf = (replica: string) => ha.daemons.get(replica)!;

  /** Starts `replica` with its API server (the bearer token TOKEN). */
  async function startReplica(replica: string): Promise<void> {
    const daemon = await ha.start(replica, dir);
    const server = await startHttpServer(
      {
        readiness: () => daemon.readiness(),
        status: () => daemon.statusView(),
        group: (name) => daemon.groupView(name),
        reconcile: (reason) => daemon.reconcile(reason),
        setSuspended: (group, suspended) => daemon.setSuspended(group, suspended),
        metrics: () => Promise.resolve({ contentType: 'text/plain', body: '' }),
      },
      { host: '127.0.0.1', port: 0, apiToken: TOKEN },
    );
    servers.set(replica, server);
  }

  async function stopReplica(replica: string): Promise<void> {
    const server = servers.get(replica);
    servers.delete(replica);
    await ha.stop(replica);
    await server?.close();
  }

  async function post(
    replica: string,
    group: string,
    action: 'suspend' | 'resume',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const url = `${servers.get(replica)!.url}/api/v1/groups/${group}/${action}`;
    const response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const groupOn = (replica: string, name: string): GroupStatus | undefined =>
    (daemonOf(replica).statusView() as { groups: GroupStatus[] }).groups.find((g) => g.name === name);
  const live = (group: string) =>
    ha.sim.world
      .all()
      .filter((i) => i.tags[TAG.fleet] === ha.fleet && i.tags[TAG.group] === group && (i.state === 'pending' || i.state === 'running'));
  const rolled = (group: string, digest: string) =>
    live(group).length === 2 && live(group).every((i) => i.state === 'running' && i.tags[TAG.digest] === digest);
  /** Creations and terminations of `group`'s instances in the simulator's timeline after `since`. */
  const changesOf = (group: string, since: number) =>
    ha.sim.world
      .events(since)
      .filter(
        (e) => e.kind === 'state' && e.tags[TAG.group] === group && (e.from === null || e.to === 'terminating' || e.to === 'terminated'),
      );
  const lastSeq = () => ha.sim.world.events().at(-1)?.seq ?? 0;
  const suspensionKey = async (group: string) => ha.client.get(`${ha.prefix}/suspensions/${group}`).string();

  it('a suspend sent to any replica holds on the lane’s holder, follows the lane, and a resume elsewhere lets the rollout proceed', async () => {
    await startReplica('r1');
    await startReplica('r2');
    await waitFor('both groups run 2 instances of digest A', () => rolled('web-a', DIGEST_A) && rolled('web-b', DIGEST_A), 60_000);
    await waitFor('one lane per replica in etcd', async () => {
      const keys = await laneKeys(ha.client, ha.fleet);
      return keys.size === 2 && new Set([...keys.values()].map((k) => k.replica)).size === 2;
    });
    const holder = (await laneKeys(ha.client, ha.fleet)).get('aws-a')!.replica;
    const other = holder === 'r1' ? 'r2' : 'r1';

    // Suspend web-a through the replica that does not hold its lane.
    const suspended = await post(other, 'web-a', 'suspend');
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    const since = lastSeq();
    const record = JSON.parse((await suspensionKey('web-a'))!) as { suspended: boolean; by: string };
    assert.deepEqual([record.suspended, record.by], [true, other], 'the key names the replica that got the call');
    for (const replica of [holder, other])
      await waitFor(`${replica}'s status shows web-a suspended by the API`, () => groupOn(replica, 'web-a')?.suspendedBy === 'api');
    assert.equal(groupOn(other, 'web-a')?.heldBy, holder, `${other} shows it from ${holder}'s summary`);
    const eventsOf = (replica: string, reason: string) =>
      (daemonOf(replica).statusView() as { events: { reason: string; group?: string; message: string }[] }).events.filter(
        (e) => e.group === 'web-a' && e.reason === reason,
      );
    for (const replica of [holder, other])
      assert.deepEqual(
        eventsOf(replica, 'Suspended').map((e) => e.message),
        [`group suspended through the API on replica ${other}`],
        `${replica} recorded the event once, as seen in etcd`,
      );
    for (const replica of [holder, other]) {
      const view = (daemonOf(replica).statusView() as { ha: { suspensions: { group: string; by: string }[] } }).ha;
      assert.deepEqual(
        view.suspensions.map((x) => [x.group, x.by]),
        [['web-a', other]],
        `${replica} lists the suspension in its ha block`,
      );
    }

    // A digest bump: web-b rolls; the holder launches and deletes nothing of web-a.
    await writeFile(path.join(dir, 'image.yaml'), fleetFiles(ha.fleet, DIGEST_B, AMI_B)['image.yaml']!);
    await waitFor('web-b rolls to digest B', () => rolled('web-b', DIGEST_B), 60_000);
    assert.deepEqual(changesOf('web-a', since), [], 'no create or delete of web-a while suspended');
    assert.ok(rolled('web-a', DIGEST_A), 'web-a still runs its 2 instances of digest A');

    // The holder stops: the lane moves to the other replica, and the suspension with it.
    await stopReplica(holder);
    await waitFor(`${other} holds both lanes`, async () => {
      const keys = await laneKeys(ha.client, ha.fleet);
      return keys.size === 2 && [...keys.values()].every((k) => k.replica === other);
    });
    await waitFor(`${other} passed web-a's lane itself, suspended`, () => {
      const group = groupOn(other, 'web-a');
      return group?.heldBy === other && group.suspendedBy === 'api';
    });
    assert.deepEqual(changesOf('web-a', since), [], 'no create or delete of web-a under its new holder');

    // Resume through the restarted first holder, whichever lane it takes back.
    await startReplica(holder);
    await waitFor(`${holder} joined etcd`, () => (daemonOf(holder).statusView() as { ha: { health: { ok: boolean } } }).ha.health.ok);
    const resumed = await post(holder, 'web-a', 'resume');
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
    assert.equal(await suspensionKey('web-a'), null, 'resume deletes the key');
    await waitFor('web-a rolls to digest B', () => rolled('web-a', DIGEST_B), 60_000);
    for (const replica of [holder, other])
      await waitFor(`${replica}'s status no longer shows web-a suspended`, () => groupOn(replica, 'web-a')?.suspendedBy === undefined);
    assert.equal(eventsOf(other, 'Resumed').length, 1, `${other} recorded the resume sent to ${holder}`);

    // etcd down: the API answers 503 and nothing is recorded anywhere.
    await ha.etcd.kill();
    const refused = await post(other, 'web-b', 'suspend');
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body['reason'], 'EtcdUnreachable');
    assert.match(String(refused.body['error']), /web-b not suspended: etcd could not be written/);
    await ha.etcd.restart();
    assert.equal(await suspensionKey('web-b'), null, 'no suspension key was written');
    await assert.rejects(readFile(path.join(stateDirOf(other), 'suspended.json')), 'nor a local suspension');
    const events = (daemonOf(other).statusView() as { events: { reason: string; group?: string }[] }).events;
    assert.ok(!events.some((e) => e.group === 'web-b' && e.reason === 'Suspended'), 'no Suspended event for the refused call');
  });

  it("moves a replica's pre-HA suspended.json into etcd once, and keeps the group suspended", async () => {
    await mkdir(stateDirOf('r1'), { recursive: true, mode: 0o700 });
    await writeFile(path.join(stateDirOf('r1'), 'suspended.json'), JSON.stringify(['web-a']), { mode: 0o600 });
    await startReplica('r1');
    await waitFor('web-b runs 2 instances', () => rolled('web-b', DIGEST_A), 60_000);
    await waitFor(
      'the suspension is in etcd',
      async () => (await suspensionKey('web-a')) !== undefined && (await suspensionKey('web-a')) !== null,
    );
    const record = JSON.parse((await suspensionKey('web-a'))!) as { by: string };
    assert.equal(record.by, 'r1');
    await waitFor(
      'the local file is emptied',
      async () => JSON.parse(await readFile(path.join(stateDirOf('r1'), 'suspended.json'), 'utf8')).length === 0,
    );
    await waitFor("r1's status shows web-a suspended by the API", () => groupOn('r1', 'web-a')?.suspendedBy === 'api');
    assert.deepEqual(changesOf('web-a', 0), [], 'web-a was never launched');
  });
});
