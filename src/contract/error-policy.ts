/**
 * The one error vocabulary of drover (Flux's internal/error model: generic, waiting, stalling):
 * what a failure means for what happens next. Every layer that decides on a failure — a reconcile
 * pass (src/reconcile/errors.ts) and the Git source (src/source/errors.ts) — carries one of these
 * as `policy`, and callers branch on `policy` and `reason`, never on message text. It lives in the
 * bottom layer so both wings may import it.
 *
 * - `transient`: something failed that may work next time (network, 5xx, throttling, disk): back
 *   off and retry by itself.
 * - `waiting`: nothing is wrong; look again after a known time (`requeueAfterMs`).
 * - `stalled`: retrying cannot help until Git changes or a human acts (a bad revision, an invalid
 *   request, missing permissions, a wrong configuration); the `reason` says which.
 */
export type ErrorPolicy = 'transient' | 'waiting' | 'stalled';
