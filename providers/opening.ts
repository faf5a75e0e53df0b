/**
 * What every provider's `open` (providers/<type>/open.ts) does the same way: refuse a Provider
 * document of another type or with an unusable spec (a ProviderError of kind Invalid, operation
 * `init`), and build the retry policy from the cloud's defaults, the attempt deadline and overrides.
 */
import { ProviderError } from '../src/contract/errors.ts';
import type { RetryTuning } from './retry.ts';
import type { ProviderContext } from '../src/contract/provider.ts';

/** The error for a Provider document `open` cannot use: `reason` is stable, `message` says the fix. */
export function invalidProvider(context: ProviderContext, reason: string, message: string): ProviderError {
  return new ProviderError({ kind: 'Invalid', reason, provider: context.config.name, operation: 'init', message });
}

/** Throws unless the Provider document is of `type` (a plugin opened with another type's document). */
export function requireType(context: ProviderContext, type: string): void {
  if (context.config.type !== type)
    throw invalidProvider(context, 'WrongProviderType', `provider ${context.config.name} is ${context.config.type}, not ${type}`);
}

/** The cloud's defaults, then `context.requestTimeoutMs` as the deadline of one attempt, then `override`. */
export function retryPolicy<P extends RetryTuning>(defaults: P, context: ProviderContext, override: Partial<P> | undefined): P {
  return { ...defaults, ...(context.requestTimeoutMs === undefined ? {} : { attemptTimeoutMs: context.requestTimeoutMs }), ...override };
}
