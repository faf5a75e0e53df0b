/**
 * The HA suite's judge. The rollout invariants are the crash suite's (crash-invariants.ts: capacity
 * floor, surge ceiling, one live instance per slot, ownership), replayed on each lane's simulator;
 * here is what HA adds, read from the simulators' record of the mutating calls that reached them
 * (each with the fencing token its `x-drover-fence` header carried) and from etcd's own record of
 * the lane's campaign keys (their create revisions are the tokens):
 *
 * - every mutating call carries a token: as many fenced calls of each mutating action as the
 *   simulator's call log counts for that action;
 * - no overlap: in arrival order, a lane's tokens never go down (a call with an older token after
 *   one with a newer token means two holders were acting at once), and no call with a token arrives
 *   after etcd created a later campaign key for the lane (a newer holder's epoch had begun, whether
 *   or not it had sent anything yet);
 * - silence after a pause: a replica resumed after etcd gave its lanes away sends nothing more with
 *   the tokens it held.
 *
 * Times: `wallAt` of a call and the `seenAt` of a campaign key are both the test process's wall
 * clock (`Date.now()`), where the simulators and the etcd watcher both run. A key is seen a little
 * after etcd created it, never before, so the overlap check can miss a call in that gap but never
 * accuse one wrongly.
 */

/** A mutating call as a simulator recorded it. */
export interface FencedCall {
  /** Arrival order in this simulator. */
  readonly seq: number;
  /** Simulated time of arrival. */
  readonly at: number;
  /** Wall time of arrival, ms since the epoch. */
  readonly wallAt: number;
  readonly action: string;
  /** The `x-drover-fence` header (undefined when the call carried none). */
  readonly fence?: string | undefined;
  /** HTTP status answered (0: hung or dropped). */
  readonly status: number;
}

/** A campaign key of a lane as the test saw it appear in etcd. */
export interface CampaignEpoch {
  /** Its create revision: the fencing token of the holder that created it. */
  readonly token: string;
  /** The holder identity the key named. */
  readonly replica: string;
  /** Wall time at which the test's watcher saw it, ms since the epoch. */
  readonly seenAt: number;
}

/** Everything the fencing judge needs for one lane. */
export interface FenceCheck {
  readonly lane: string;
  readonly calls: readonly FencedCall[];
  /** The simulator's call log counts of each mutating action (undefined: not compared). */
  readonly logged?: Readonly<Record<string, number>> | undefined;
  /** The simulator's exact count of mutating calls without a token, trimmed ones included (undefined: not checked). */
  readonly unfenced?: number | undefined;
  /** The lane's campaign keys, in the order they were seen. */
  readonly epochs?: readonly CampaignEpoch[] | undefined;
  /** Tokens that must stay silent from a wall time on (a paused replica's, from its resume), or within a window. */
  readonly silenced?: readonly Silence[] | undefined;
}

/** Calls with `tokens` (all tokens when undefined) must not arrive in [from, until). */
export interface Silence {
  readonly tokens?: readonly string[] | undefined;
  readonly from: number;
  /** End of the silence (default: forever). */
  readonly until?: number | undefined;
  /** What began it, for the message (`r1-2 resumed after losing its lanes`). */
  readonly why: string;
}

/** What the fencing judge found for one lane. */
export interface FenceVerdict {
  readonly violations: string[];
  /** Mutating calls judged. */
  readonly calls: number;
  /** Distinct tokens seen on calls (holders that acted). */
  readonly tokens: number;
  /** Times a newer token took over from an older one in the call record. */
  readonly handovers: number;
}

const MAX_VIOLATIONS = 30;

/** Compares two decimal tokens (etcd revisions are 64-bit: compared as BigInt). */
export function compareTokens(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const isToken = (fence: string | undefined): fence is string => fence !== undefined && /^\d+$/.test(fence);

/** Judges one lane's mutating calls. */
export function checkFencing(check: FenceCheck): FenceVerdict {
  const violations: string[] = [];
  const say = (text: string) => {
    if (violations.length < MAX_VIOLATIONS) violations.push(`${check.lane}: ${text}`);
  };
  const calls = [...check.calls].sort((a, b) => a.seq - b.seq);
  const describe = (c: FencedCall) => `call #${c.seq} ${c.action} @${c.at} (status ${c.status})`;
  let newest: FencedCall | undefined;
  let handovers = 0;
  const tokens = new Set<string>();
  for (const call of calls) {
    if (!isToken(call.fence)) {
      say(`${describe(call)} carried no fencing token (${JSON.stringify(call.fence)})`);
      continue;
    }
    tokens.add(call.fence);
    if (newest !== undefined && compareTokens(call.fence, newest.fence!) < 0)
      say(`${describe(call)} with token ${call.fence} after ${describe(newest)} with newer token ${newest.fence}: two holders overlapped`);
    if (newest === undefined || compareTokens(call.fence, newest.fence!) > 0) {
      if (newest !== undefined) handovers++;
      newest = call;
    }
  }
  violations.push(...overlaps(check, calls).slice(0, MAX_VIOLATIONS - violations.length));
  violations.push(...silences(check, calls).slice(0, MAX_VIOLATIONS - violations.length));
  violations.push(...uncounted(check, calls));
  return { violations, calls: calls.length, tokens: tokens.size, handovers };
}

/** Calls that arrived after etcd had created a later campaign key for the lane. */
function overlaps(check: FenceCheck, calls: readonly FencedCall[]): string[] {
  const found: string[] = [];
  for (const call of calls.filter((c) => isToken(c.fence))) {
    const later = (check.epochs ?? []).find((e) => compareTokens(e.token, call.fence!) > 0 && e.seenAt <= call.wallAt);
    if (later !== undefined)
      found.push(
        `${check.lane}: call #${call.seq} ${call.action} with token ${call.fence} arrived ${call.wallAt - later.seenAt} ms after etcd showed the lane taken by ${later.replica} (token ${later.token}): overlapping fencing epochs`,
      );
  }
  return found;
}

/** Calls with a silenced token after its silence began. */
function silences(check: FenceCheck, calls: readonly FencedCall[]): string[] {
  const found: string[] = [];
  for (const rule of check.silenced ?? []) {
    const covered = (c: FencedCall) => rule.tokens === undefined || (c.fence !== undefined && rule.tokens.includes(c.fence));
    for (const call of calls.filter((c) => covered(c) && c.wallAt >= rule.from && c.wallAt < (rule.until ?? Infinity)))
      found.push(
        `${check.lane}: call #${call.seq} ${call.action} with token ${call.fence} arrived ${call.wallAt - rule.from} ms after ${rule.why}`,
      );
  }
  return found;
}

/** Mutating calls the call log counts that the fenced record does not hold with a token. */
function uncounted(check: FenceCheck, calls: readonly FencedCall[]): string[] {
  const found: string[] = [];
  if (check.unfenced !== undefined && check.unfenced > 0)
    found.push(`${check.lane}: the simulator counts ${check.unfenced} mutating calls without a fencing token`);
  for (const [action, logged] of Object.entries(check.logged ?? {})) {
    const fenced = calls.filter((c) => c.action === action && isToken(c.fence)).length;
    if (logged !== fenced)
      found.push(`${check.lane}: the call log counts ${logged} ${action} calls, ${fenced} of them recorded with a fencing token`);
  }
  return found;
}

/** The first call of each token in a lane's record, in arrival order: who acted, from when. */
export function firstCalls(calls: readonly FencedCall[]): FencedCall[] {
  const seen = new Set<string>();
  return [...calls].sort((a, b) => a.seq - b.seq).filter((c) => c.fence !== undefined && !seen.has(c.fence) && (seen.add(c.fence), true));
}
