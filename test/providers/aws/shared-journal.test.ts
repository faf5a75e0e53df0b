/**
 * The launch journal in a lane's shared records (HA, ProviderContext.records): the next holder's
 * provider reads the previous holder's launches, holds their slots while EC2 does not list them and
 * launches at once (no lost-journal fence); it never reads a stale journal file of its own; shared
 * records with no journal while the fleet has instances fence launches as a lost file does.
 * Records here are an in-memory store (test/helpers/memory-records.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import type { ProviderRecords } from '../../../src/contract/records.ts';
import { MemoryRecords } from '../../helpers/memory-records.ts';
import { aws } from '../../clouds/aws.ts';
import { FAST_RETRY, FLEET, liveIn, request, startSim } from './fixtures.ts';
import { CONFIG } from './fixtures.ts';

const wave = (slots: readonly number[]): CreateRequest[] => slots.map((slot) => request('web', slot));

function reasons(outcomes: readonly PromiseSettledResult<ObservedInstance>[]): string[] {
  return outcomes.map((o) => (o.status === 'rejected' ? String((o.reason as { reason?: string }).reason) : 'launched'));
}

describe('AWS launch journal in shared records (HA hand-over)', () => {
  let sim: Ec2Simulator;
  const providers: Provider[] = [];
  const open = async (records: ProviderRecords, stateDir?: string): Promise<Provider> => {
    const p = await aws.createProvider(CONFIG, sim, { fleet: FLEET, records, stateDir, listLagMs: 60_000, options: { retry: FAST_RETRY } });
    providers.push(p);
    await p.list({ fleet: FLEET });
    return p;
  };

  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    await sim.close();
  });

  it("the next holder holds the previous holder's unlisted launches and launches at once, ignoring its own stale file", async () => {
    sim.world.setLatencies({ listLagMs: 3_600_000 }); // EC2 lists nothing new for the whole test
    const shared = new MemoryRecords();
    const a = await open(shared);
    const launched = await a.createBatch!(wave([0, 1]));
    assert.deepEqual(reasons(launched), ['launched', 'launched']);
    assert.ok(shared.values.has('launches.json'), 'the journal went to the shared records, not a file');

    // b's state directory holds a journal from a hold long ago: fenced, no launches. Never read.
    const stale = mkdtempSync(path.join(tmpdir(), 'drover-stale-'));
    writeFileSync(path.join(stale, 'launches.json'), JSON.stringify({ version: 1, launches: [], fencedUntil: Date.now() + 60_000 }));
    const b = await open(shared, stale);
    assert.equal(b.launchesBlockedUntil?.(), undefined, 'no lost-journal fence');
    const listed = await b.list({ fleet: FLEET });
    assert.deepEqual(
      listed.map((i) => [i.slot, i.state, i.locked]).sort(),
      [
        [0, 'pending', true],
        [1, 'pending', true],
      ],
      "a's batch holds its slots under b while EC2 does not list it",
    );
    assert.deepEqual(reasons(await b.createBatch!(wave([2, 3]))), ['launched', 'launched']);
    const slots = liveIn(sim).map((vm) => {
      const tag = vm.tags['drover:slot'] ?? '';
      return Number(tag.split(',')[Number(vm.attributes['launchIndex'] ?? 0)]);
    });
    assert.deepEqual(slots.sort(), [0, 1, 2, 3], 'each slot launched once');
  });

  it('shared records without a journal while the fleet has instances fence launches (as a lost file does)', async () => {
    const a = await open(new MemoryRecords());
    assert.deepEqual(reasons(await a.createBatch!(wave([0]))), ['launched']);
    const b = await open(new MemoryRecords());
    assert.ok((b.launchesBlockedUntil?.() ?? 0) > Date.now(), 'fenced');
    assert.deepEqual(reasons(await b.createBatch!(wave([1, 2]))), ['LaunchFenced', 'LaunchFenced']);
  });
});
