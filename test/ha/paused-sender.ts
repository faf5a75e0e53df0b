/**
 * A replica in a child process for the real-SIGSTOP fencing test (fence-sigstop.test.ts): holds
 * lane `x` of the fleet with a real etcd lease, opens a Compute Engine provider on the simulator
 * with its fence, and launches one instance. Right after the insert's fence check passes it stops
 * itself (SIGSTOP): the gap between the check and the socket write that a pause can fall into.
 * Prints one JSON line per step (`{event, token, reason?}`): holding, stopping, resumed, created
 * or refused. Usage: node test/ha/paused-sender.ts <etcd endpoint> <fleet> <simulator url>
 */
import type { LaneFence } from '../../src/ha/lane-fence.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { fenceLostOf } from '../../providers/fencing.ts';
import { gcp } from '../clouds/gcp.ts';
import type { CloudSim } from '../clouds/types.ts';
import { CONFIG, FLEET, request } from '../providers/gcp/fixtures.ts';
import { RecordingHost, settingsFor } from './ha-fixture.ts';

const [endpoint, fleet, url] = process.argv.slice(2) as [string, string, string];
const say = (event: string, token: string, reason?: string) => process.stdout.write(`${JSON.stringify({ event, token, reason })}\n`);

// Load and warm the Compute client first: loading it blocks the event loop for a second or more,
// which would leave the hold's keep-alives stale.
const warm = await gcp.createProvider(CONFIG, { url } as CloudSim as never, { fleet: FLEET });
await warm.list({ fleet: FLEET });
const coordinator = new EtcdCoordinator(settingsFor(endpoint, fleet, 'paused'));
coordinator.setLanes(['x']);
await coordinator.start(new RecordingHost());
while (!coordinator.holds().has('x')) await new Promise((resolve) => setTimeout(resolve, 10));
const hold = coordinator.holds().get('x')!;
say('holding', hold.token);

const fence = hold.fence as LaneFence;
const check = fence.check.bind(fence);
let armed = false;
fence.check = async () => {
  await check();
  if (!armed) return;
  armed = false;
  say('stopping', hold.token);
  process.kill(process.pid, 'SIGSTOP'); // stopped here until the parent's SIGCONT
  say('resumed', hold.token);
};
const provider = await gcp.createProvider(CONFIG, { url } as CloudSim as never, { fleet: FLEET, fence });
await provider.list({ fleet: FLEET });
for (;;) {
  try {
    await fence.check();
    break;
  } catch (error) {
    if (fence.lost.aborted) say('lost before the test began', hold.token, fenceLostOf(error)?.reason);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
armed = true;
try {
  await provider.create(request('web', 0));
  say('created', hold.token);
} catch (error) {
  say('refused', hold.token, fenceLostOf(error)?.reason ?? String(error));
}
process.on('SIGTERM', () => void coordinator.stop().then(() => process.exit(0)));
