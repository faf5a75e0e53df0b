/**
 * THE NAME AND REQUEST-ID SCHEME.
 *
 * GCE makes two things idempotent: instance names (unique per project and zone: a second insert
 * of a taken name fails with 409 alreadyExists) and requestIds (a repeated requestId returns the
 * original operation for at least an hour, whatever the body). drover uses both:
 *
 *     name      = generation 0: CreateRequest.name;  generation g ≥ 1: `${name}-r${g}`   (≤ 59 chars)
 *     requestId = UUID from sha256(idempotencyKey, zone, generation, attempt)            (deterministic)
 *
 * and every instance carries the label `drover-key` = idempotencyKey. Creating a slot:
 * - insert generation g's name with attempt a's requestId. A lost response is retried with the same
 *   requestId (same operation, no second instance); a later pass that retries after the call failed
 *   hits 409 alreadyExists on the name.
 * - 409 alreadyExists → read the instance: our key and PROVISIONING/STAGING/RUNNING → it is the
 *   slot's (success); labelled with ANOTHER fleet id (the same fleet under its former
 *   metadata.name, or a second fleet in the project: names do not carry the fleet id) → create
 *   refuses with Conflict NameTakenByAnotherFleet and launches nothing (a new name would put a
 *   second instance beside it); anything else holding the name (a stopped or deleting instance of
 *   ours, a drifted one, an unlabelled stranger) → the name is spent, try generation g + 1.
 * - a request whose owner.fleet is not the fleet the provider was opened for is refused (Invalid
 *   FleetMismatch): the provider judges "the slot's own instance" by its fleet id, so it would not
 *   recognise what it launched and would launch again at every step.
 * - the operation ends DONE with an error → that requestId is spent (GCE would replay the failed
 *   operation for an hour): the next try uses attempt a + 1. An operation already DONE in the insert
 *   response is a replay of an older one: walk on at once; a fresh failure is reported (classified).
 * - the operation succeeded but the instance is gone (a replayed success whose instance was deleted
 *   since) → the requestId is spent too: attempt a + 1 creates anew under the same name.
 * A slot's live instance may hold any generation's name (an older one may have been freed since).
 * So when higher generations are known for the key (CreateBook, fed by list() and by creates),
 * create first reads every known generation's name and returns the slot's instance if one holds it;
 * only then does it insert, into the lowest free name. A restarted drover learns the generations
 * from its first list(); the one gap left is a restart whose first list() cannot yet see (list lag)
 * an instance holding a generation above 0 — the planner's surplus handling deletes the extra one.
 * The zone is in the requestId: GCE remembers request ids per project, so a slot retried in another
 * zone (the first one out of capacity, or its instance not listed yet) must not replay the first
 * zone's operation.
 * Invariant (test/providers/gcp/create-property.test.ts): under dropped responses, throttling, 5xx,
 * failed operations, restarts and out-of-band deletes/stops/relabels, a slot never has two usable
 * instances carrying its key.
 */
import { createHash } from 'node:crypto';

/** Most (generation, attempt) steps one create call walks before giving up (Conflict). */
export const MAX_CREATE_STEPS = 24;

/** Instance name of a generation. */
export function generationName(name: string, generation: number): string {
  return generation === 0 ? name : `${name}-r${generation}`;
}

/** The idempotency key as a label value: itself when it is 32 hex, else its sha256 prefix. */
export function keyLabel(idempotencyKey: string): string {
  if (/^[0-9a-f]{32}$/.test(idempotencyKey)) return idempotencyKey;
  return createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
}

/**
 * Deterministic requestId (a version-5-shaped UUID) of one insert attempt in `zone` (the zone is
 * part of it: request ids are remembered per project, not per zone). Without a zone (deletes,
 * keyed by the instance id) it is the id of the key alone.
 */
export function requestIdFor(idempotencyKey: string, generation: number, attempt: number, zone = ''): string {
  const scope = zone === '' ? '' : `\0${zone}`;
  const hex = createHash('sha256')
    .update(`drover-gce\0${keyLabel(idempotencyKey)}${scope}\0${generation}\0${attempt}`)
    .digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** One insert try: which generation's name, with which attempt's requestId. */
export interface CreateStep {
  readonly generation: number;
  readonly attempt: number;
}

/** Generation of a name drover made (`…-rN` → N, else 0). */
export function generationOf(name: string): number {
  const match = /-r(\d{1,4})$/.exec(name);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/**
 * What this process knows per idempotency key: the highest generation used or seen (list() feeds
 * it, so a restarted drover learns it from its first pass), and the first requestId attempt not yet
 * spent per generation. Skipping spent attempts is always safe (the name still guards against a
 * second instance); generations are never skipped blindly — create first reads the known ones.
 */
export class CreateBook {
  readonly #highest = new Map<string, number>();
  readonly #attempts = new Map<string, number>();

  /** Highest generation known for the key (0 when none). */
  highest(idempotencyKey: string): number {
    return this.#highest.get(keyLabel(idempotencyKey)) ?? 0;
  }

  /** Records that `generation` was used or seen for the key. */
  observe(idempotencyKey: string, generation: number): void {
    const key = keyLabel(idempotencyKey);
    this.#highest.set(key, Math.max(generation, this.#highest.get(key) ?? 0));
  }

  /** First attempt not known to be spent at a generation. */
  attempt(idempotencyKey: string, generation: number): number {
    return this.#attempts.get(`${keyLabel(idempotencyKey)}/${generation}`) ?? 0;
  }

  /** Records that attempts below `attempt` are spent at a generation (never goes back). */
  spend(idempotencyKey: string, generation: number, attempt: number): void {
    const id = `${keyLabel(idempotencyKey)}/${generation}`;
    this.#attempts.set(id, Math.max(attempt, this.#attempts.get(id) ?? 0));
  }
}
