/**
 * Expected waits met while executing: the cloud refused a launch for now, as it should (policy
 * `waiting`: EC2's launch fence after a lost launch journal, providers/aws/launch-ledger.ts). The
 * group is not failing; its status says what it waits for and until when (`launch-fence`), and the
 * daemon holds it until then (scheduler.ts recordPassOutcome). The deletes that only make room for
 * such launches wait with them (launch-check.ts), with the same wait. Passes that hold the group carry
 * the wait over, so status keeps saying it until the wait ends.
 */
import type { GroupStep, Wait } from '../plan/types.ts';
import type { ActionResult } from './execute.ts';

/**
 * The `launch-fence` wait of `group` from this pass's actions: the latest end among its waiting
 * creates and the room-making deletes held for them (launch-check.ts: launches blocked).
 */
function launchWait(group: string, actions: readonly ActionResult[], now: number): Wait | undefined {
  let wait: Wait | undefined;
  for (const a of actions) {
    if (a.group !== group || a.error?.policy !== 'waiting') continue;
    const until = now + (a.error.requeueAfterMs ?? 0);
    if (wait?.until !== undefined && wait.until >= until) continue;
    wait = {
      reason: 'launch-fence',
      message: `launches wait until ${new Date(until).toISOString()}, then are retried (${a.error.reason}): ${a.error.message}`,
      until,
    };
  }
  return wait;
}

/**
 * `steps` with a `launch-fence` wait first for every group a create of this pass waits on, or
 * whose wait from an earlier pass (`carried`, by group) has not ended or that is still held
 * (`hold`); requeueAfterSeconds follows.
 */
export function withExpectedWaits(
  steps: readonly GroupStep[],
  actions: readonly ActionResult[],
  now: number,
  carried: ReadonlyMap<string, Wait> = new Map(),
  hold: ReadonlySet<string> = new Set(),
): GroupStep[] {
  return steps.map((step) => {
    const previous = carried.get(step.group);
    // A group still held keeps its wait (0 s left) until the pass that retries it.
    const current = previous?.until !== undefined && (previous.until > now || hold.has(step.group));
    const wait = launchWait(step.group, actions, now) ?? (current ? previous : undefined);
    if (wait === undefined) return step;
    const seconds = Math.max(1, Math.ceil(((wait.until ?? now) - now) / 1000));
    const requeueAfterSeconds = step.requeueAfterSeconds === undefined ? seconds : Math.min(step.requeueAfterSeconds, seconds);
    return { ...step, waits: [wait, ...step.waits.filter((w) => w.reason !== wait.reason)], requeueAfterSeconds };
  });
}

/** The expected waits of `steps`, by group, to carry into the passes that hold those groups. */
export function expectedWaitsOf(steps: readonly GroupStep[]): Map<string, Wait> {
  const waits = new Map<string, Wait>();
  for (const step of steps) {
    const wait = step.waits.find((w) => w.reason === 'launch-fence');
    if (wait !== undefined) waits.set(step.group, wait);
  }
  return waits;
}
