/**
 * Provider errors: classes with a kind that carries the retry policy. Callers branch on `kind` and
 * `reason`, never on message text.
 */

/**
 * What went wrong, and therefore what to do:
 * - Throttled: the cloud asked us to slow down; retry after `retryAfterMs` or backoff.
 * - Transient: 5xx, timeout, connection reset; retry with backoff.
 * - NotFound: the thing is gone (success for destroy).
 * - Conflict: already exists / locked / in use; re-observe, then decide again.
 * - Invalid: the request can never succeed as written (bad image, quota, parameters); needs a Git change.
 * - Unauthorized: credentials missing or lacking permission; needs a human.
 */
export type ProviderErrorKind = 'Throttled' | 'Transient' | 'NotFound' | 'Conflict' | 'Invalid' | 'Unauthorized';

/**
 * What a cloud's classifier (providers/<cloud>/classify.ts) makes of an error: its kind, a
 * machine-readable reason, a server-suggested wait if any. One shape for every cloud, so the
 * shared retry loop (retry.ts) and the polling helper (poll.ts) read them alike.
 */
export interface Classified {
  readonly kind: ProviderErrorKind;
  readonly reason: string;
  readonly retryAfterMs?: number | undefined;
  /** The cloud's own words, appended to the message (PVE has no codes; EC2's Invalid detail); never request data. */
  readonly detail?: string | undefined;
}

/** Kinds worth retrying automatically without any change. */
export const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set(['Throttled', 'Transient', 'Conflict']);

/** An error from a provider, classified. Messages never contain credentials. */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  /** Machine-readable reason (the cloud's error code, or one of drover's own such as ImageDigestMismatch). */
  readonly reason: string;
  readonly provider: string;
  readonly operation: string;
  /** Server-suggested wait, when the cloud gave one. */
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    kind: ProviderErrorKind;
    reason: string;
    provider: string;
    operation: string;
    message: string;
    retryAfterMs?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.reason = init.reason;
    this.provider = init.provider;
    this.operation = init.operation;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * A listing that could not read every zone (GCE aggregatedList with UNREACHABLE scopes): what it
 * did list, and the zones it could not. Callers that know it act only on groups whose zones were
 * all listed (src/reconcile/pass.ts); any other caller sees a failed listing (Transient), which is
 * safe: acting on a zone it cannot see could duplicate or delete what it hides.
 */
export class PartialListing<T = unknown> extends ProviderError {
  /** Instances of the zones that answered. */
  readonly instances: readonly T[];
  /** Zones that did not answer (e.g. `europe-west1-c`), sorted. */
  readonly zones: readonly string[];

  constructor(init: { provider: string; operation: string; instances: readonly T[]; zones: readonly string[] }) {
    super({
      kind: 'Transient',
      reason: 'ZonesNotListed',
      provider: init.provider,
      operation: init.operation,
      message: `${init.operation}: zones ${init.zones.join(', ')} did not answer the listing`,
    });
    this.instances = init.instances;
    this.zones = [...init.zones].sort();
  }
}

/**
 * Node and undici transport failure codes: the request may or may not have reached the cloud, so a
 * cloud classifier reads them as Transient (retried only where the call is idempotent).
 */
export const TRANSPORT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
