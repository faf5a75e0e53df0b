/**
 * The status event of a group's `Tampered` condition (`drift.modified: report`, src/plan/tamper.ts):
 * a Warning when modified instances are first reported or the report changes (other instances or
 * fields), a Normal one when none is left. `drover status` and the web page show it with the
 * group's other events; notifications derive their own from the same transition (src/notify).
 */
import type { Condition } from '../plan/index.ts';

/** What a {@link tamperedEvent} says; the store adds group, revision and time. */
export interface TamperedEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: 'InstancesTampered' | 'TamperResolved';
  readonly message: string;
}

/** The event of the transition from `before` to `after` (either undefined: no such condition), or undefined when nothing changed. */
export function tamperedEvent(before: Condition | undefined, after: Condition | undefined): TamperedEvent | undefined {
  const was = before?.status === 'True';
  const is = after?.status === 'True';
  if (is && (!was || before?.message !== after?.message)) return { type: 'Warning', reason: 'InstancesTampered', message: after!.message };
  if (was && !is) return { type: 'Normal', reason: 'TamperResolved', message: 'no instance of the group is modified any more' };
  return undefined;
}
