/**
 * Which lanes a replica should campaign for and which one it should give up, from the fleet as
 * its watches show it. Pure, so it is tested over every small fleet. With L lanes and R live
 * replicas, q = floor(L/R) and share = ceil(L/R):
 * - a replica campaigns for free lanes while it holds fewer than its share; if another live
 *   replica holds fewer than q it only tops up to q (the starving one gets the rest);
 * - it sheds ONE lane when it holds more than its share, or more than q while another holds
 *   fewer than q (so 7 lanes on 3 replicas end as 3/2/2, never 3/3/1) — in that second case only
 *   while no lane is free (the starving one takes a free lane itself) and only the replica holding
 *   the most (ties: the first id), so a replica that comes back (a rolling restart) gets one lane
 *   shed per lane it needs, and no shed lane is taken back by another shedder;
 * - lanes it holds that are no longer in the fleet are resigned.
 * Candidates are rotated by a hash of the replica id, so replicas try different free lanes first.
 */

/** The fleet as one replica sees it. */
export interface ShareInput {
  /** This replica. */
  readonly me: string;
  /** The fleet's lanes (setLanes). */
  readonly lanes: readonly string[];
  /** Holder replica of every lane that has a campaign key now (any lane, any replica). */
  readonly holders: ReadonlyMap<string, string>;
  /** Live replicas (membership keys); `me` counts whether listed or not. */
  readonly replicas: Iterable<string>;
  /** Lanes this replica holds (its own record, which may be ahead of the watch). */
  readonly mine: ReadonlySet<string>;
  /** Lanes this replica is busy with (campaigning, stopping): never free for it. */
  readonly busy?: ReadonlySet<string>;
}

/** What to do next. */
export interface SharePlan {
  /** ceil(lanes / live replicas). */
  readonly share: number;
  /** Free lanes to campaign for, best first, at most as many as the replica may still take. */
  readonly campaign: readonly string[];
  /** One held lane to resign because the replica holds too many, or undefined. */
  readonly shed: string | undefined;
  /** Held lanes the fleet no longer has: resign them. */
  readonly gone: readonly string[];
}

/** A small stable hash of the replica id (FNV-1a), for rotating candidate orders. */
export function rotationOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** `items` sorted, then rotated to start at `seed mod length`. */
export function rotated(items: Iterable<string>, seed: number): string[] {
  const sorted = [...items].sort();
  if (sorted.length === 0) return sorted;
  const start = seed % sorted.length;
  return [...sorted.slice(start), ...sorted.slice(0, start)];
}

/** The plan for `input.me`. */
export function planShare(input: ShareInput): SharePlan {
  const desired = new Set(input.lanes);
  const live = new Set(input.replicas);
  live.add(input.me);
  const lanes = desired.size;
  const floor = Math.floor(lanes / live.size);
  const share = Math.ceil(lanes / live.size);
  const held = [...input.mine].filter((lane) => desired.has(lane));
  const gone = [...input.mine].filter((lane) => !desired.has(lane)).sort();
  const counts = heldCounts(input, desired, live, held.length);
  const starving = [...counts].some(([replica, count]) => replica !== input.me && count < floor);
  const seed = rotationOf(input.me);

  const free = [...desired].filter((lane) => !input.mine.has(lane) && !input.holders.has(lane) && !(input.busy?.has(lane) ?? false));
  // For a starving replica only while no lane is free (it takes a free one itself), and only the
  // most loaded replica: a lane shed for it is not shed twice nor taken back.
  const shedsForStarving = starving && free.length === 0 && mostLoaded(counts) === input.me;
  let shed: string | undefined;
  if (held.length > share || (held.length > floor && shedsForStarving)) shed = rotated(held, seed)[0];

  const limit = starving ? floor : share;
  const room = Math.max(0, limit - held.length);
  const campaign = shed === undefined ? rotated(free, seed).slice(0, room) : [];
  return { share, campaign, shed, gone };
}

/** Lanes of the fleet each live replica holds: the others' from the holders, `me`'s own record (`mine`, maybe ahead of the watch). */
function heldCounts(input: ShareInput, desired: ReadonlySet<string>, live: ReadonlySet<string>, mine: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const replica of live) counts.set(replica, 0);
  for (const [lane, holder] of input.holders) {
    const count = counts.get(holder);
    if (holder !== input.me && count !== undefined && desired.has(lane)) counts.set(holder, count + 1);
  }
  counts.set(input.me, mine);
  return counts;
}

/** The replica that sheds for a starving one: the one holding the most, the first id among equals. */
function mostLoaded(counts: ReadonlyMap<string, number>): string | undefined {
  let best: [string, number] | undefined;
  for (const [replica, count] of counts)
    if (best === undefined || count > best[1] || (count === best[1] && replica < best[0])) best = [replica, count];
  return best?.[0];
}
