/**
 * A lane's provider records (journals) in etcd (src/ha/shared-records.ts) against a real etcd: the
 * next holder reads what the previous one wrote; a stale holder's write is refused by etcd itself
 * (FenceLost, the newer holder's record untouched, its hold given up); an oversized record is
 * refused before it reaches etcd. Verdicts from the keys as etcd has them.
 */
import assert from 'node:assert/strict';

import { FenceLost } from '../../src/contract/fence.ts';
import { HaError, MAX_RECORD_BYTES } from '../../src/ha/errors.ts';
import { FleetKeys } from '../../src/ha/keys.ts';
import { SharedRecords } from '../../src/ha/shared-records.ts';
import { etcdPerFile, fleetId, laneKeys, settingsFor, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

const LANE = 'lane-0';
const NAME = 'launches.json';

async function heldBy(replica: Replica) {
  await waitFor(`${replica.coordinator.replica} holds ${LANE}`, () => replica.coordinator.holds().has(LANE));
  return replica.coordinator.holds().get(LANE)!;
}

describe('shared provider records on a real etcd', function () {
  this.timeout(60_000);
  const ha = etcdPerFile();

  const start = async (fleet: string, id: string) => {
    const replica = await startReplica(ha.etcd.endpoint, fleet, id, [LANE]);
    ha.replicas.push(replica);
    return replica;
  };
  const recordKey = (fleet: string) => new FleetKeys(settingsFor(ha.etcd.endpoint, fleet, 'x').prefix).record(LANE, NAME);
  const inEtcd = async (fleet: string) => (await ha.world.get(recordKey(fleet)).string()) ?? undefined;

  it('hands the journal to the next holder; a stale holder cannot overwrite it', async () => {
    const fleet = fleetId();
    const a = await start(fleet, 'a');
    const holdA = await heldBy(a);
    assert.ok(holdA.records, 'an etcd hold carries its lane records');
    assert.equal(await holdA.records.read(NAME), undefined, 'nothing written yet: missing, not empty');
    await holdA.records.write(NAME, '{"from":"a"}');
    assert.equal(await inEtcd(fleet), '{"from":"a"}');

    const b = await start(fleet, 'b');
    await a.coordinator.stop();
    const holdB = await heldBy(b);
    assert.ok(Number(holdB.token) > Number(holdA.token));
    assert.equal(await holdB.records!.read(NAME), '{"from":"a"}', "b reads a's journal");
    await holdB.records!.write(NAME, '{"from":"b"}');

    // a's own records once it stopped: nothing lands.
    await assert.rejects(holdA.records.write(NAME, '{"from":"a, late"}'));
    // A holder that has not noticed (paused, cut off): etcd's txn refuses it and the hold is given up.
    let taken = 0;
    const stale = new SharedRecords({
      client: ha.world,
      keys: new FleetKeys(settingsFor(ha.etcd.endpoint, fleet, 'x').prefix),
      lane: LANE,
      token: holdA.token,
      timeoutMs: 1000,
      taken: () => taken++,
    });
    await assert.rejects(
      stale.write(NAME, '{"from":"a, paused"}'),
      (e: unknown) => e instanceof FenceLost && e.reason === 'LaneTaken' && e.token === holdA.token,
    );
    assert.equal(taken, 1, 'the stale hold is told it lost the lane');
    assert.equal(await inEtcd(fleet), '{"from":"b"}', "b's record stands");
    assert.equal((await laneKeys(ha.world, fleet)).get(LANE)?.replica, 'b');
  });

  it('refuses a record over the size limit with a clear error and keeps the last one', async () => {
    const fleet = fleetId();
    const hold = await heldBy(await start(fleet, 'a'));
    await hold.records!.write(NAME, '{"small":true}');
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_RECORD_BYTES) });
    await assert.rejects(
      hold.records!.write(NAME, big),
      (e: unknown) => e instanceof HaError && e.reason === 'RecordTooLarge' && e.message.includes(NAME),
    );
    assert.equal(await inEtcd(fleet), '{"small":true}');
    await assert.rejects(hold.records!.write('../x', '{}'), (e: unknown) => e instanceof HaError && e.reason === 'BadRecordName');
  });

  it('a read with etcd down rejects (the provider must not open as if the journal were lost)', async () => {
    const fleet = fleetId();
    const hold = await heldBy(await start(fleet, 'a'));
    await ha.etcd.kill();
    try {
      await assert.rejects(hold.records!.read(NAME), (e: unknown) => e instanceof HaError && e.reason === 'EtcdUnreachable');
    } finally {
      await ha.etcd.restart();
    }
  });
});
