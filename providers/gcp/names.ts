/**
 * THE NAME AND REQUEST-ID SCHEME.
 *
 * GCE makes two things idempotent: instance names (unique per project and zone: a second insert
 * of a taken name fails with 409 alreadyExists) and requestIds (a repeated requestId returns the
 * original operation for at least an hour, whatever the body). drover uses both:
 *
 *     name      = generation 0: CreateRequest.name;  generation g ≥ 1: `${name}-r${g}`   (≤ 59 chars)
 *     requestId = UUID from sha256(idempotencyKey, generation, attempt)                  (deterministic)
 *
 * and every instance carries the label `drover-key` = idempotencyKey. Creating a slot:
 * - insert generation g's name with attempt a's requestId. A lost response is retried with the same
 *   requestId (same operation, no second instance); a later pass that retries after the call failed
 *   hits 409 alreadyExists on the name.
 * - 409 alreadyExists → read the instance: our key and PROVISIONING/STAGING/RUNNING → it is the
 *   slot's (success); anything else holding the name (a stopped or deleting instance of ours, a
 *   drifted one, a stranger) → the name is spent, try generation g + 1.
 * - the operation ends DONE with an error → that requestId is spent (GCE would replay the failed
 *   operation for an hour): the next try uses attempt a + 1. An operation already DONE in the insert
 *   response is a replay of an older one: walk on at once; a fresh failure is reported (classified).
 * - the operation succeeded but the instance is gone (a replayed success whose instance was deleted
 *   since) → the requestId is spent too: attempt a + 1 creates anew under the same name.
 * Memory (CreateBook) only skips known-spent steps; a restarted drover walks from (0, 0) and reaches
 * the same answer, at the cost of a few calls.
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

/** Deterministic requestId (a version-5-shaped UUID) of one insert attempt. */
export function requestIdFor(idempotencyKey: string, generation: number, attempt: number): string {
  const hex = createHash('sha256').update(`drover-gce\0${keyLabel(idempotencyKey)}\0${generation}\0${attempt}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Where a slot's next create should start. */
export interface CreateStep {
  readonly generation: number;
  readonly attempt: number;
}

/** Known-spent steps per idempotency key (an optimisation only). */
export class CreateBook {
  readonly #next = new Map<string, CreateStep>();

  start(idempotencyKey: string): CreateStep {
    return this.#next.get(keyLabel(idempotencyKey)) ?? { generation: 0, attempt: 0 };
  }

  /** Records where the next create of this key starts (never goes back). */
  note(idempotencyKey: string, step: CreateStep): void {
    const key = keyLabel(idempotencyKey);
    const known = this.#next.get(key);
    if (known !== undefined && (known.generation > step.generation || (known.generation === step.generation && known.attempt > step.attempt))) return;
    this.#next.set(key, step);
  }
}
