/**
 * A replica in a child process for the real-SIGSTOP fencing test (fence-sigstop.test.ts): holds
 * lane `x` of the fleet with a real etcd lease, opens a Compute Engine provider on the simulator
 * with its fence, and launches one instance. Right after the insert's fence check passes it stops
 * itself (SIGSTOP): the gap between the check and the socket write that a pause can fall into.
 * Prints one JSON line per step (`{event, token, reason?}`): holding, stopping, resumed, created
 * or refused. Usage: node test/ha/paused-sender.ts <etcd endpoint> <fleet> <simulator url>
 */
import type { LaneHold } from '../../src/ha/coordinator.ts';
import type { LaneFence } from '../../src/ha/lane-fence.ts';
import type { Provider } from '../../src/contract/provider.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { fenceLostOf } from '../../providers/fencing.ts';
import { gcp } from '../clouds/gcp.ts';
import type { CloudSim } from '../clouds/types.ts';
import { CONFIG, FAST_RETRY, FLEET, request } from '../providers/gcp/fixtures.ts';
import { RecordingHost, settingsFor } from './ha-fixture.ts';

const [endpoint, fleet, url] = process.argv.slice(2) as [string, string, string];
const say = (event: string, token: string, reason?: string) => process.stdout.write(`${JSON.stringify({ event, token, reason })}\n`);

// Load and warm the Compute client first: loading it blocks the event loop for a second or more,
// which would leave the hold's keep-alives stale.
const warm = await gcp.createProvider(CONFIG, { url } as CloudSim as never, { fleet: FLEET });
await warm.list({ fleet: FLEET });
// A longer lease than the other HA tests' (2 s): on a starved machine the child must keep its hold
// until its insert is under way; the pause that follows is longer than this TTL all the same.
const coordinator = new EtcdCoordinator(settingsFor(endpoint, fleet, 'paused', { leaseTtlMs: 6000, fenceWindowMs: 1200 }));
coordinator.setLanes(['x']);
await coordinator.start(new RecordingHost());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A hold of x whose fence passes now, with a provider opened on it (a hold lost meanwhile, on a busy machine, is replaced by the next). */
async function ready(): Promise<{ hold: LaneHold; provider: Provider }> {
  for (;;) {
    const hold = coordinator.holds().get('x');
    if (hold === undefined) {
      await sleep(10);
      continue;
    }
    // The per-attempt deadline outlasts the pause (as production's 30 s does a pause of a few TTLs):
    // a deadline shorter than the pause would abort the insert before it is written anyway.
    const options = { retry: { ...FAST_RETRY, attemptTimeoutMs: 120_000 } };
    const provider = await gcp.createProvider(CONFIG, { url } as CloudSim as never, { fleet: FLEET, fence: hold.fence, options });
    await provider.list({ fleet: FLEET });
    while (!hold.fence.lost.aborted) {
      try {
        await hold.fence.check();
        return { hold, provider };
      } catch {
        await sleep(20);
      }
    }
  }
}

const { hold, provider } = await ready();
say('holding', hold.token);
const fence = hold.fence as LaneFence;
const check = fence.check.bind(fence);
fence.check = async () => {
  await check();
  say('stopping', hold.token);
  process.kill(process.pid, 'SIGSTOP'); // stopped here until the parent's SIGCONT
  say('resumed', hold.token);
};
try {
  await provider.create(request('web', 0));
  say('created', hold.token);
} catch (error) {
  say('refused', hold.token, fenceLostOf(error)?.reason ?? String(error));
}
process.on('SIGTERM', () => void coordinator.stop().then(() => process.exit(0)));
