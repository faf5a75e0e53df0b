/**
 * Wraps a Provider so every call goes through that provider's concurrency queue and token bucket,
 * and reports each call (operation, outcome code, duration, time spent waiting for a token) to an
 * observer for metrics. The bucket is also handed to the provider as its pacer: the provider's own
 * retries wait for a token too, and a throttled answer empties the bucket, so drover stays in step
 * with the cloud's bucket instead of retrying past it. Semantics of the wrapped provider are unchanged.
 */
import PQueue from 'p-queue';
import { ProviderError } from '../contract/errors.ts';
import type {
  CallOptions,
  CallPacer,
  CreateRequest,
  ImageRef,
  ListScope,
  ObservedInstance,
  PlacementRef,
  Provider,
} from '../contract/provider.ts';
import type { LaunchTemplate, ProviderType } from '../contract/fleet.ts';
import { providerPlugins } from '../../providers/registry.ts';
import { RateLimiter } from './rate-limiter.ts';
import type { LaneSettings, LimitSettings } from '../contract/limits.ts';

/** One finished provider call. */
export interface ProviderCall {
  readonly provider: string;
  readonly operation: 'list' | 'create' | 'createBatch' | 'destroy' | 'verifyImage' | 'checkPlacement';
  /** 'ok', or the error's reason (cloud error code) for failures. */
  readonly code: string;
  readonly durationMs: number;
  readonly throttleWaitMs: number;
}

/**
 * Each cloud's defaults, from its plugin (`limits` in providers/<type>/index.ts), kept at or below
 * the cloud's published limits.
 */
export const DEFAULT_LIMITS: Readonly<Record<ProviderType, LimitSettings>> = Object.fromEntries(
  providerPlugins.map((plugin) => [plugin.type, plugin.limits]),
) as Record<ProviderType, LimitSettings>;

/** Returns `provider` with limits applied and calls reported to `observe`. */
export function limitProvider(provider: Provider, settings: LimitSettings, observe: (call: ProviderCall) => void): Provider {
  const main = lane(settings);
  const destroyLane = settings.lanes?.destroy === undefined ? main : lane(settings.lanes.destroy);
  const readLane = settings.lanes?.read === undefined ? main : lane(settings.lanes.read);
  const laneOf = (operation: ProviderCall['operation']): Lane =>
    operation === 'create' || operation === 'createBatch' ? main : operation === 'destroy' ? destroyLane : readLane;
  const launched =
    settings.launchedInstances === undefined
      ? undefined
      : new RateLimiter(
          settings.launchedInstances.ratePerSecond,
          settings.launchedInstances.burst,
          Date.now,
          settings.launchedInstances.reserve,
        );
  const run = <T>(
    operation: ProviderCall['operation'],
    options: CallOptions | undefined,
    call: (options: CallOptions) => Promise<T>,
    instances = 0,
  ): Promise<T> => {
    const { queue, bucket, pacer } = laneOf(operation);
    return queue.add(async () => {
      // Instance tokens first, the call token last: the call token must be taken right before the
      // call is sent, or calls that waited for instances reach the cloud bunched together while
      // drover's call bucket thinks them spread out.
      let throttleWaitMs = launched !== undefined && instances > 0 ? await takeUnlessAbandoned(launched, options, instances) : 0;
      throttleWaitMs += await takeUnlessAbandoned(bucket, options);
      const started = performance.now();
      try {
        const result = await call({
          ...options,
          pacer: launched !== undefined && instances > 0 ? launchPacer(pacer, launched, instances) : pacer,
        });
        observe({
          provider: provider.name,
          operation,
          code: refusedBatchCode(result) ?? 'ok',
          durationMs: performance.now() - started,
          throttleWaitMs,
        });
        return result;
      } catch (error) {
        const code = error instanceof ProviderError ? error.reason : 'Error';
        observe({ provider: provider.name, operation, code, durationMs: performance.now() - started, throttleWaitMs });
        throw error;
      }
    });
  };
  return {
    name: provider.name,
    type: provider.type,
    ...(provider.groupFilterLimit === undefined ? {} : { groupFilterLimit: provider.groupFilterLimit }),
    list: (scope: ListScope, options?: CallOptions): Promise<ObservedInstance[]> =>
      run('list', options, (paced) => provider.list(scope, paced)),
    create: (request: CreateRequest, options?: CallOptions) => run('create', options, (paced) => provider.create(request, paced), 1),
    ...batchOf(provider, (requests, options, call) => run('createBatch', options, call, requests.length)),
    destroy: (instance: ObservedInstance, options?: CallOptions) => run('destroy', options, (paced) => provider.destroy(instance, paced)),
    verifyImage: (image: ImageRef, options?: CallOptions) => run('verifyImage', options, (paced) => provider.verifyImage(image, paced)),
    ...(provider.sweep === undefined ? {} : { sweep: (options?: CallOptions) => provider.sweep!(options) }),
    ...(provider.launchesBlockedUntil === undefined ? {} : { launchesBlockedUntil: () => provider.launchesBlockedUntil!() }),
    ...(provider.expectedFacts === undefined
      ? {}
      : { expectedFacts: (template: LaunchTemplate, zone: string) => provider.expectedFacts!(template, zone) }),
    ...(provider.checkPlacement === undefined
      ? {}
      : {
          checkPlacement: (groups: readonly PlacementRef[], options?: CallOptions) =>
            run('checkPlacement', options, (paced) => provider.checkPlacement!(groups, paced)),
        }),
    classify: (error: unknown) => provider.classify(error),
    close: () => provider.close(),
  };
}

/** A call abandoned before it was sent (CallOptions.abandonUnsent): nothing reached the cloud. */
export class CallAbandoned extends Error {
  override readonly name = 'CallAbandoned';
}

/** The wrapped provider's batched launch, if it has one, run through `run` (one call, one token per instance). */
function batchOf(
  provider: Provider,
  run: (
    requests: readonly CreateRequest[],
    options: CallOptions | undefined,
    call: (paced: CallOptions) => Promise<PromiseSettledResult<ObservedInstance>[]>,
  ) => Promise<PromiseSettledResult<ObservedInstance>[]>,
): Pick<Provider, 'createBatch' | 'maxBatchSize'> {
  const createBatch = provider.createBatch?.bind(provider);
  if (createBatch === undefined || provider.maxBatchSize === undefined) return {};
  return {
    maxBatchSize: provider.maxBatchSize,
    createBatch: (requests, options) => run(requests, options, (paced) => createBatch(requests, paced)),
  };
}

/**
 * A batched launch answers per instance; when every one was refused, the call was (RunInstances
 * refuses a batch as a whole), and its metrics carry the cloud's code like any failed call.
 */
function refusedBatchCode(result: unknown): string | undefined {
  if (!Array.isArray(result) || result.length === 0) return undefined;
  const settled = result as PromiseSettledResult<unknown>[];
  if (!settled.every((r) => r?.status === 'rejected')) return undefined;
  const reason = (settled[0] as PromiseRejectedResult).reason as unknown;
  return reason instanceof ProviderError ? reason.reason : 'Error';
}

/** Waits for `count` tokens; throws CallAbandoned when `abandonUnsent` fires first (no token taken). */
async function takeUnlessAbandoned(bucket: RateLimiter, options: CallOptions | undefined, count = 1): Promise<number> {
  const abandon = options?.abandonUnsent;
  if (abandon === undefined) return bucket.take(options?.signal, count);
  if (abandon.aborted) throw new CallAbandoned('abandoned before it was sent');
  try {
    return await bucket.take(options?.signal === undefined ? abandon : AbortSignal.any([options.signal, abandon]), count);
  } catch (error) {
    if (abandon.aborted) throw new CallAbandoned('abandoned before it was sent', { cause: error });
    throw error;
  }
}

/**
 * The pacer of a launch: a retry takes its instance tokens again, besides the call token. A refused
 * launch spent none of the cloud's instance tokens, yet drover's bucket took them: when drover's
 * bucket runs ahead of the cloud's (clock slew, other clients of the account), every refusal puts
 * it back behind by the batch's size, so a refusal does not repeat for every launch that follows.
 */
function launchPacer(lanePacer: CallPacer, launched: RateLimiter, instances: number): CallPacer {
  return {
    beforeRetry: async (signal) => {
      await launched.take(signal, instances);
      await lanePacer.beforeRetry(signal);
    },
    throttled: () => lanePacer.throttled(),
  };
}

/** One queue and bucket, and the bucket as a pacer for the provider's inner retries. */
interface Lane {
  readonly queue: PQueue;
  readonly bucket: RateLimiter;
  readonly pacer: CallPacer;
}

function lane(limits: LaneSettings): Lane {
  const bucket = new RateLimiter(limits.ratePerSecond, limits.burst);
  const pacer: CallPacer = {
    beforeRetry: async (signal) => {
      await bucket.take(signal);
    },
    throttled: () => bucket.drain(),
  };
  return { queue: new PQueue({ concurrency: limits.concurrency }), bucket, pacer };
}
