/**
 * A replica in a child process for the SIGSTOP test: holds lane `x` of the fleet and calls
 * `check()` every 10 ms, printing one JSON line per outcome (`{event, at, token}`), so the parent
 * can pause it with SIGSTOP and see, from the lines, whether it ever passed its fence after
 * another replica took the lane. Usage: node test/ha/paused-holder.ts <endpoint> <fleet>
 */
import type { LaneHold } from '../../src/ha/coordinator.ts';
import { EtcdCoordinator } from '../../src/ha/etcd-coordinator.ts';
import { RecordingHost, settingsFor } from './ha-fixture.ts';

const [endpoint, fleet] = process.argv.slice(2) as [string, string];
const coordinator = new EtcdCoordinator(settingsFor(endpoint, fleet, 'paused'));
const say = (event: string, token?: string) => process.stdout.write(`${JSON.stringify({ event, at: Date.now(), token })}\n`);

coordinator.setLanes(['x']);
await coordinator.start(new RecordingHost());
let last: LaneHold | undefined;
setInterval(() => {
  // The lane's current hold, else the last one (a lost hold must keep refusing).
  const hold = coordinator.holds().get('x') ?? last;
  if (hold === undefined) return;
  if (hold !== last) say('holding', hold.token);
  last = hold;
  hold.fence.check().then(
    () => say('passed', hold.token),
    () => say('refused', hold.token),
  );
}, 10);
process.on('SIGTERM', () => void coordinator.stop().then(() => process.exit(0)));
