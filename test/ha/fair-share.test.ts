/** The fair-share planner, over every small fleet: plans are sound and replicas settle at ±1. */
import assert from 'node:assert/strict';

import { planShare, rotated } from '../../src/ha/fair-share.ts';

const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/** Every assignment of `lanes` to `replicas` or nobody (undefined). */
function* assignments(lanes: string[], replicas: string[]): Generator<Map<string, string>> {
  const choices = [undefined, ...replicas];
  const total = choices.length ** lanes.length;
  for (let n = 0; n < total; n++) {
    const holders = new Map<string, string>();
    let rest = n;
    for (const lane of lanes) {
      const choice = choices[rest % choices.length];
      rest = Math.floor(rest / choices.length);
      if (choice !== undefined) holders.set(lane, choice);
    }
    yield holders;
  }
}

const mineOf = (holders: ReadonlyMap<string, string>, me: string) =>
  new Set([...holders].filter(([, holder]) => holder === me).map(([lane]) => lane));

/**
 * Replicas take turns applying their plan (resign gone, shed one, or take the first campaign lane)
 * until a full round changes nothing; returns the final holders and the number of moves.
 */
function settle(lanes: string[], replicas: string[], start: Map<string, string>): [Map<string, string>, number] {
  const holders = new Map(start);
  let moves = 0;
  for (let round = 0; round < 100; round++) {
    let changed = false;
    for (const me of replicas) {
      const plan = planShare({ me, lanes, holders, replicas, mine: mineOf(holders, me) });
      const drop = plan.gone[0] ?? plan.shed;
      const take = plan.campaign[0];
      if (drop !== undefined) holders.delete(drop);
      else if (take !== undefined) holders.set(take, me);
      else continue;
      changed = true;
      moves++;
    }
    if (!changed) return [holders, moves];
  }
  throw new Error(`no fixed point for ${lanes.length} lanes on ${replicas.length} replicas`);
}

describe('fair share', () => {
  it('takes every lane when alone', () => {
    const lanes = names('l', 5);
    const plan = planShare({ me: 'a', lanes, holders: new Map(), replicas: [], mine: new Set() });
    assert.equal(plan.share, 5);
    assert.deepEqual([...plan.campaign].sort(), lanes);
    assert.equal(plan.shed, undefined);
  });

  it('plans soundly for every assignment of up to 5 lanes on up to 3 replicas', () => {
    for (let laneCount = 0; laneCount <= 5; laneCount++) {
      for (let replicaCount = 1; replicaCount <= 3; replicaCount++) {
        const lanes = names('l', laneCount);
        const replicas = names('r', replicaCount);
        for (const holders of assignments(lanes, replicas)) {
          for (const me of replicas) {
            const mine = mineOf(holders, me);
            const plan = planShare({ me, lanes, holders, replicas, mine });
            const label = `${JSON.stringify([...holders])} me=${me}`;
            assert.equal(plan.share, Math.ceil(laneCount / replicaCount), label);
            for (const lane of plan.campaign) assert.ok(!holders.has(lane), `${label}: campaigns only for free lanes`);
            assert.ok(plan.campaign.length <= Math.max(0, plan.share - mine.size), `${label}: never above the share`);
            if (plan.shed !== undefined) {
              assert.ok(mine.has(plan.shed), `${label}: sheds its own lane`);
              assert.ok(mine.size > Math.floor(laneCount / replicaCount), `${label}: sheds only above the floor`);
              assert.equal(plan.campaign.length, 0, `${label}: never sheds and campaigns at once`);
            }
          }
        }
      }
    }
  });

  it('settles every start at all lanes held, each replica within one of the others', () => {
    for (let laneCount = 1; laneCount <= 6; laneCount++) {
      for (let replicaCount = 1; replicaCount <= 3; replicaCount++) {
        const lanes = names('l', laneCount);
        const replicas = names('r', replicaCount);
        for (const start of assignments(lanes, replicas)) {
          const [final, moves] = settle(lanes, replicas, start);
          const label = `${laneCount} lanes on ${replicaCount} from ${JSON.stringify([...start])}`;
          assert.equal(final.size, laneCount, `${label}: every lane held`);
          const counts = replicas.map((replica) => mineOf(final, replica).size);
          assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${label}: spread ${counts.join('/')}`);
          assert.ok(moves <= 3 * laneCount, `${label}: ${moves} moves`);
        }
      }
    }
  });

  it('resigns lanes the fleet dropped, and treats busy lanes as taken', () => {
    const plan = planShare({
      me: 'a',
      lanes: ['x', 'y', 'z'],
      holders: new Map([['old', 'a']]),
      replicas: ['a'],
      mine: new Set(['old']),
      busy: new Set(['y']),
    });
    assert.deepEqual(plan.gone, ['old']);
    assert.deepEqual([...plan.campaign].sort(), ['x', 'z']);
  });

  it('counts a live replica that holds nothing (it joined): the others shed down to the share', () => {
    const lanes = names('l', 6);
    const holders = new Map(lanes.map((lane) => [lane, 'a']));
    const plan = planShare({ me: 'a', lanes, holders, replicas: ['a', 'b', 'c'], mine: new Set(lanes) });
    assert.equal(plan.share, 2);
    assert.ok(plan.shed !== undefined);
    const [final] = settle(lanes, ['a', 'b', 'c'], holders);
    assert.deepEqual(
      ['a', 'b', 'c'].map((replica) => mineOf(final, replica).size),
      [2, 2, 2],
    );
  });

  // Outside attack 21 F14: in a rolling restart a replica that came back (holding nothing) made
  // every replica above the floor shed a lane at once; the newcomer took one and a shedder took
  // the other back: lanes moved back and forth. Replicas take turns with the newcomer last.
  it('a replica that comes back takes its lanes from the most loaded replicas, each lane moving once, none taken back', () => {
    for (let laneCount = 1; laneCount <= 7; laneCount++) {
      const lanes = names('l', laneCount);
      const replicas = ['a', 'b', 'c'];
      const [settled] = settle(lanes, replicas, new Map());
      for (const back of replicas) {
        const start = new Map([...settled].filter(([, holder]) => holder !== back));
        const [others] = settle(
          lanes,
          replicas.filter((r) => r !== back),
          start,
        );
        const order = [...replicas.filter((r) => r !== back), back];
        const moves: string[] = [];
        const holders = new Map(others);
        for (let round = 0, changed = true; changed && round < 100; round++) {
          changed = false;
          for (const me of order) {
            const plan = planShare({ me, lanes, holders, replicas: order, mine: mineOf(holders, me) });
            const drop = plan.gone[0] ?? plan.shed;
            const take = plan.campaign[0];
            if (drop !== undefined) holders.delete(drop);
            else if (take !== undefined) holders.set(take, me);
            if (drop !== undefined || take !== undefined) moves.push(drop !== undefined ? `${me} sheds ${drop}` : `${me} takes ${take}`);
            changed ||= drop !== undefined || take !== undefined;
          }
        }
        const label = `${laneCount} lanes, ${back} back from ${JSON.stringify([...others])}: ${moves.join(', ')}`;
        const counts = replicas.map((replica) => mineOf(holders, replica).size);
        assert.equal(holders.size, laneCount, `${label}: every lane held`);
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${label}: spread ${counts.join('/')}`);
        const wanted = Math.floor(laneCount / replicas.length);
        assert.equal(mineOf(holders, back).size, wanted, `${label}: the newcomer ends with the floor`);
        assert.equal(moves.length, 2 * wanted, `${label}: one shed and one take per lane it needs`);
        for (const move of moves.filter((m) => m.includes(' sheds ')))
          assert.ok(!moves.includes(move.replace(' sheds ', ' takes ')), `${label}: ${move}, then took it back`);
      }
    }
  });

  it('rotates candidates by replica so replicas try different lanes first', () => {
    assert.deepEqual(rotated(['c', 'a', 'b'], 1), ['b', 'c', 'a']);
    const firsts = new Set(
      names('r', 5).map((me) => planShare({ me, lanes: names('l', 6), holders: new Map(), replicas: [], mine: new Set() }).campaign[0]),
    );
    assert.ok(firsts.size > 1, 'five replicas do not all start with the same lane');
  });
});
