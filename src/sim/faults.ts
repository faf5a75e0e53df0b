/**
 * Fault injection. A rule matches API actions and fires on a number of calls, within a window of
 * simulated time, or with a probability (from a seeded generator, so runs are reproducible).
 *
 * Kinds and when they act:
 * - `error`: before the action; the call fails with `status` / `code` (default 500 InternalError).
 * - `throttle`: before the action; the cloud's throttling error (EC2: RequestLimitExceeded, 503).
 * - `hang`: before the action; no response for `delayMs` (sim) then a normal one, or never when unset.
 * - `delay`: before the action; the response comes `delayMs` (sim) later.
 * - `drop-after`: AFTER the action succeeded; the connection is reset with no response, so the
 *   client cannot tell whether it happened (the case idempotency tokens exist for). Calls that
 *   failed (throttled, invalid) are answered normally and do not use up the rule.
 * - `hang-after`: AFTER the action succeeded; the response never comes (the client's deadline must
 *   fire, and its retry must not repeat the side effect).
 * - `boot-fail`: at launch; the instance goes pending → terminated after bootMs (reason
 *   Server.InternalError), like an EC2 launch that fails after it was accepted.
 * - `boot-stuck`: at launch; the instance stays pending forever (it never becomes ready).
 * Launch faults ignore `actions`; `tags` restricts any rule to instances carrying all those tags
 * (e.g. only the new template: { "drover:template": "…" }).
 */

/** What a fault does. */
export type FaultKind = 'error' | 'throttle' | 'hang' | 'delay' | 'drop-after' | 'hang-after' | 'boot-fail' | 'boot-stuck';

/** A fault rule as given to the control API. */
export interface FaultRuleInput {
  readonly kind: FaultKind;
  /** Actions it applies to (cloud action names such as RunInstances); omitted or empty: all. */
  readonly actions?: readonly string[];
  /** Fires on this many matching calls, then is removed. Omitted: unlimited (within the window). */
  readonly count?: number;
  /** Chance (0..1) that a matching call is affected; default 1. */
  readonly probability?: number;
  /** Active for this long (sim ms) from when it is added. Omitted: until exhausted or cleared. */
  readonly durationMs?: number;
  /** `error`: HTTP status (default 500). */
  readonly status?: number;
  /** `error`: the cloud's error code (default InternalError). */
  readonly code?: string;
  readonly message?: string;
  /** `hang` / `delay`: sim milliseconds. */
  readonly delayMs?: number;
  /** Launch faults: only instances carrying all these tags/labels. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** An active rule. */
export interface FaultRule extends FaultRuleInput {
  readonly id: string;
  readonly addedAt: number;
  /** Calls it has fired on so far. */
  fired: number;
}

/** When a fault acts relative to the action. */
export type FaultPhase = 'before' | 'after' | 'launch';

const PHASE: Readonly<Record<FaultKind, FaultPhase>> = {
  error: 'before',
  throttle: 'before',
  hang: 'before',
  delay: 'before',
  'drop-after': 'after',
  'hang-after': 'after',
  'boot-fail': 'launch',
  'boot-stuck': 'launch',
};

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS: ReadonlySet<string> = new Set(Object.keys(PHASE));

/** Raised for a malformed rule. */
export class FaultRuleError extends Error {
  override readonly name = 'FaultRuleError';
}

/** Checks a rule from the outside world (control API JSON). */
export function parseFaultRule(value: unknown): FaultRuleInput {
  if (typeof value !== 'object' || value === null) throw new FaultRuleError('a fault rule must be an object');
  const rule = value as Record<string, unknown>;
  if (typeof rule['kind'] !== 'string' || !KINDS.has(rule['kind'])) {
    throw new FaultRuleError(`fault kind must be one of ${[...KINDS].join(', ')}`);
  }
  const actions = rule['actions'];
  if (actions !== undefined && (!Array.isArray(actions) || !actions.every((a) => typeof a === 'string'))) {
    throw new FaultRuleError('actions must be a list of action names');
  }
  const tags = rule['tags'];
  if (tags !== undefined && (typeof tags !== 'object' || tags === null || !Object.values(tags).every((v) => typeof v === 'string'))) {
    throw new FaultRuleError('tags must map names to strings');
  }
  for (const key of ['count', 'probability', 'durationMs', 'status', 'delayMs']) {
    if (rule[key] !== undefined && typeof rule[key] !== 'number') throw new FaultRuleError(`${key} must be a number`);
  }
  return rule as unknown as FaultRuleInput;
}

/** The active rules of one simulator. */
export class FaultInjector {
  readonly #now: () => number;
  readonly #random: () => number;
  #rules: FaultRule[] = [];
  #ids = 0;

  constructor(now: () => number, seed = 1) {
    this.#now = now;
    this.#random = seededRandom(seed);
  }

  /** Adds a rule; returns it with its id. */
  add(input: FaultRuleInput): FaultRule {
    const rule: FaultRule = { ...input, id: `fault-${++this.#ids}`, addedAt: this.#now(), fired: 0 };
    this.#rules.push(rule);
    return rule;
  }

  /** Removes one rule by id, or all. */
  clear(id?: string): void {
    this.#rules = id === undefined ? [] : this.#rules.filter((r) => r.id !== id);
  }

  /** Active rules. */
  list(): readonly FaultRule[] {
    this.#expire();
    return [...this.#rules];
  }

  /** The first rule that fires for `action` in `phase` (launch: for an instance with `tags`), consuming one of its count. */
  pick(action: string, phase: FaultPhase, tags: Readonly<Record<string, string>> = {}): FaultRule | undefined {
    this.#expire();
    for (const rule of this.#rules) {
      if (PHASE[rule.kind] !== phase || !matches(rule, phase === 'launch' ? undefined : action, tags)) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      rule.fired += 1;
      return rule;
    }
    return undefined;
  }

  #expire(): void {
    const now = this.#now();
    this.#rules = this.#rules.filter((rule) => {
      if (rule.count !== undefined && rule.fired >= rule.count) return false;
      return rule.durationMs === undefined || now < rule.addedAt + rule.durationMs;
    });
  }
}

function matches(rule: FaultRule, action: string | undefined, tags: Readonly<Record<string, string>>): boolean {
  const byAction = action === undefined || rule.actions === undefined || rule.actions.length === 0 || rule.actions.includes(action);
  const byTags = Object.entries(rule.tags ?? {}).every(([k, v]) => tags[k] === v);
  return byAction && byTags;
}
