/**
 * THE CLIENT TOKEN SCHEME.
 *
 * EC2 remembers a RunInstances ClientToken beyond the life of its instance: repeating a token whose
 * instance is terminated returns that dead instance (older EC2) or fails with
 * IdempotentInstanceTerminated (EC2 since 2025) — never a new instance. So one token per slot would
 * make a slot whose instance died impossible to refill, while a fresh random token per attempt would
 * turn every lost response into a second instance. drover therefore uses
 *
 *     ClientToken = `${idempotencyKey}-${generation}`      (32 hex + '-' + decimal ≤ 64 chars)
 *
 * where idempotencyKey is deterministic per (fleet, group, templateHash, slot) and the generation
 * starts at 0. Creating a slot tries generations upward from a starting point:
 * - the token launches a new instance, or returns a live one (a retry after a lost response, a
 *   concurrent pass, a restarted daemon) → that instance is the slot's; stop;
 * - the token answers IdempotentInstanceTerminated, or returns a shutting-down/terminated instance
 *   → that generation is spent (dead is permanent); try the next generation;
 * - IdempotentParameterMismatch (same token, other parameters, e.g. a new Git revision tag) → look
 *   the token's instance up by the `client-token` filter: live → it is the slot's; dead → next
 *   generation; not visible and the launch ledger holds no launch under that token (it was listed
 *   once, or never launched: its instances died and EC2 forgot them, e.g. a Git revert to a template
 *   of an hour ago) → spent at once; not visible while the ledger holds it → Conflict (re-observe
 *   later, it may be in flight), and once it has stayed invisible for
 *   listLagMs (default 5 minutes, far beyond EC2's visibility lag for new instances)
 *   → spent: EC2 forgets terminated instances after about an hour but remembers their tokens far
 *   longer, so without that wait a slot refilled at a new revision after that would be stuck.
 * Invariant: a generation is only ever passed after EC2 itself said its instance is dead, so all
 * generations below the one in use are dead and at most one live instance exists per slot. The
 * starting point may skip ahead using instances seen by list() (which includes shutting-down ones
 * but not terminated ones): the highest generation seen, plus one if it is dead.
 * Memory is only an optimisation: a restarted drover walks up from 0 and reaches the same answer.
 *
 * A batch (one RunInstances for several slots, see createBatch) uses the same scheme with the key
 * of its whole set of slots in place of a slot's key. That guards repeats of the same batch only;
 * launch-ledger.ts keeps the slots of a batch EC2 does not list yet from being launched in another
 * combination.
 */

import { createHash } from 'node:crypto';

/** Most generations one create call walks through before giving up (Conflict). */
export const MAX_GENERATION_STEPS = 32;

/** The key part of the token: the idempotency key itself when it is 32 hex, else its sha256 prefix. */
export function tokenKey(idempotencyKey: string): string {
  if (/^[0-9a-f]{32}$/.test(idempotencyKey)) return idempotencyKey;
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
}

/** The ClientToken of a generation. */
export function clientToken(idempotencyKey: string, generation: number): string {
  return `${tokenKey(idempotencyKey)}-${generation}`;
}

/** Splits a ClientToken drover made; undefined for anyone else's token. */
export function parseClientToken(token: string | undefined): { key: string; generation: number } | undefined {
  const match = /^([0-9a-f]{32})-(\d{1,6})$/.exec(token ?? '');
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { key: match[1], generation: Number(match[2]) };
}

/** What is known about each idempotency key's generations: where the next create should start. */
export class GenerationBook {
  readonly #next = new Map<string, number>();

  /** Generation a create for `idempotencyKey` starts at. */
  start(idempotencyKey: string): number {
    return this.#next.get(tokenKey(idempotencyKey)) ?? 0;
  }

  /** Records an instance seen with `token`: alive keeps its generation, dead moves past it. Never goes down. */
  observe(token: string | undefined, dead: boolean): void {
    const parsed = parseClientToken(token);
    if (parsed === undefined) return;
    this.note(parsed.key, parsed.generation + (dead ? 1 : 0));
  }

  /** Raises the starting generation of `idempotencyKey` to at least `generation`. */
  note(idempotencyKey: string, generation: number): void {
    const key = tokenKey(idempotencyKey);
    this.#next.set(key, Math.max(generation, this.#next.get(key) ?? 0));
  }
}
