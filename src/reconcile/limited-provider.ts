/**
 * Wraps a Provider so every call goes through that provider's concurrency queue and token bucket,
 * and reports each call (operation, outcome code, duration, time spent waiting for a token) to an
 * observer for metrics. Semantics of the wrapped provider are unchanged.
 */
import PQueue from 'p-queue';
import { ProviderError } from '../../providers/errors.ts';
import type { CallOptions, CreateRequest, ImageRef, ListScope, ObservedInstance, Provider } from '../../providers/types.ts';
import type { ProviderType } from '../desired/types.ts';
import { RateLimiter } from './rate-limiter.ts';

/** One finished provider call. */
export interface ProviderCall {
  readonly provider: string;
  readonly operation: 'list' | 'create' | 'destroy' | 'verifyImage';
  /** 'ok', or the error's reason (cloud error code) for failures. */
  readonly code: string;
  readonly durationMs: number;
  readonly throttleWaitMs: number;
}

/** Limits for one provider. */
export interface LimitSettings {
  readonly concurrency: number;
  readonly ratePerSecond: number;
  readonly burst: number;
}

/**
 * Defaults from each cloud's published limits for mutating calls, kept below them so drover leaves
 * room for other tools in the same account (EC2 RunInstances refills 2/s with burst 5; GCE and
 * Azure allow more per project/subscription; a Proxmox node serializes clones on its storage).
 */
export const DEFAULT_LIMITS: Readonly<Record<ProviderType, LimitSettings>> = {
  aws: { concurrency: 8, ratePerSecond: 2, burst: 5 },
  gcp: { concurrency: 8, ratePerSecond: 10, burst: 20 },
  azure: { concurrency: 8, ratePerSecond: 4, burst: 10 },
  proxmox: { concurrency: 4, ratePerSecond: 5, burst: 5 },
};

/** Returns `provider` with limits applied and calls reported to `observe`. */
export function limitProvider(provider: Provider, settings: LimitSettings, observe: (call: ProviderCall) => void): Provider {
  const queue = new PQueue({ concurrency: settings.concurrency });
  const bucket = new RateLimiter(settings.ratePerSecond, settings.burst);
  const run = <T>(operation: ProviderCall['operation'], options: CallOptions | undefined, call: () => Promise<T>): Promise<T> =>
    queue.add(async () => {
      const throttleWaitMs = await bucket.take(options?.signal);
      const started = performance.now();
      try {
        const result = await call();
        observe({ provider: provider.name, operation, code: 'ok', durationMs: performance.now() - started, throttleWaitMs });
        return result;
      } catch (error) {
        const code = error instanceof ProviderError ? error.reason : 'Error';
        observe({ provider: provider.name, operation, code, durationMs: performance.now() - started, throttleWaitMs });
        throw error;
      }
    });
  return {
    name: provider.name,
    type: provider.type,
    list: (scope: ListScope, options?: CallOptions): Promise<ObservedInstance[]> => run('list', options, () => provider.list(scope, options)),
    create: (request: CreateRequest, options?: CallOptions) => run('create', options, () => provider.create(request, options)),
    destroy: (instance: ObservedInstance, options?: CallOptions) => run('destroy', options, () => provider.destroy(instance, options)),
    verifyImage: (image: ImageRef, options?: CallOptions) => run('verifyImage', options, () => provider.verifyImage(image, options)),
    classify: (error: unknown) => provider.classify(error),
    close: () => provider.close(),
  };
}
