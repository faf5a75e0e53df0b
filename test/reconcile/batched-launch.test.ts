import assert from 'node:assert/strict';
import PQueue from 'p-queue';
import type { CallOptions, CreateRequest, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import type { DesiredGroup, LaunchTemplate } from '../../src/contract/fleet.ts';
import type { GroupStep } from '../../src/plan/types.ts';
import { executeStep } from '../../src/reconcile/execute.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { limitProvider } from '../../src/reconcile/limited-provider.ts';
import { RateLimiter } from '../../src/reconcile/rate-limiter.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';

const TEMPLATE: LaunchTemplate = {
  provider: 'p',
  imageDigest: `sha256:${'a'.repeat(64)}`,
  artifact: { id: 'ami-1' },
  machine: {},
  placement: {},
  userData: undefined,
  disks: [],
  tags: {},
};
const GROUP = { name: 'web', image: 'web', templateHash: 'h1', template: TEMPLATE } as unknown as DesiredGroup;

function observed(r: CreateRequest): ObservedInstance {
  return {
    id: `i-${r.owner.slot}`,
    name: r.name,
    provider: 'p',
    zone: r.zone,
    state: 'pending',
    createdAt: 0,
    address: undefined,
    fleet: r.owner.fleet,
    group: r.owner.group,
    templateHash: r.owner.templateHash,
    imageDigest: r.owner.imageDigest,
    revision: r.owner.revision,
    slot: r.owner.slot,
  };
}

function request(slot: number): CreateRequest {
  return {
    name: `n${slot}`,
    idempotencyKey: `k${slot}`,
    owner: { fleet: 'f', group: 'web', templateHash: 'h1', imageDigest: 'd', revision: 'r', slot },
    zone: 'a',
    template: TEMPLATE,
  };
}

/** A provider that records its launch calls; createBatch only when `batches`. */
function recordingProvider(batches: boolean): Provider & { calls: string[] } {
  const calls: string[] = [];
  const provider: Provider & { calls: string[] } = {
    calls,
    name: 'p',
    type: 'aws',
    list: () => Promise.resolve([]),
    create: (r) => {
      calls.push(`create ${r.zone} ${r.owner.slot}`);
      return Promise.resolve(observed(r));
    },
    destroy: () => Promise.resolve(),
    verifyImage: () => Promise.resolve(),
    classify: () => 'Transient',
    close: () => Promise.resolve(),
  };
  if (!batches) return provider;
  return Object.assign(provider, {
    maxBatchSize: 2,
    createBatch: (requests: readonly CreateRequest[], _options?: CallOptions) => {
      calls.push(`batch ${requests[0]?.zone} ${requests.map((r) => r.owner.slot).join(',')}`);
      return Promise.resolve(
        requests.map((r): PromiseSettledResult<ObservedInstance> =>
          r.owner.slot === 3 ? { status: 'rejected', reason: new Error('boom') } : { status: 'fulfilled', value: observed(r) },
        ),
      );
    },
  });
}

function step(creates: [number, string][]): GroupStep {
  return {
    group: 'web',
    provider: 'p',
    creates: creates.map(([slot, zone]) => ({ templateHash: 'h1', slot, zone, reason: 'desired' as const })),
    deletes: [],
    waits: [],
    requeueAfterSeconds: undefined,
    failedTemplate: undefined,
    status: {} as GroupStep['status'],
  };
}

function context(provider: Provider) {
  return {
    fleet: 'f',
    revision: 'r1',
    providers: new Map([['p', provider]]),
    observed: new Map(),
    templates: new TemplateStore('/nonexistent/templates.json'),
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: 4 }),
  };
}

describe('batched launches: executor, limiter', () => {
  it("the executor batches a step's creates per template and zone, up to maxBatchSize; one result per create", async () => {
    const provider = recordingProvider(true);
    const results = await executeStep(
      step([
        [0, 'a'],
        [1, 'a'],
        [2, 'a'],
        [3, 'b'],
        [4, 'b'],
      ]),
      GROUP,
      context(provider),
    );
    assert.deepEqual(provider.calls.sort(), ['batch a 0,1', 'batch b 3,4', 'create a 2']);
    assert.deepEqual(results.map((r) => [r.name, r.id, r.error?.reason]).sort(), [
      ['web-h1-0', 'i-0', undefined],
      ['web-h1-1', 'i-1', undefined],
      ['web-h1-2', 'i-2', undefined],
      ['web-h1-3', undefined, 'Unexpected'],
      ['web-h1-4', 'i-4', undefined],
    ]);
  });

  // Issue 18: refills of a held canary (old template, no rollback under way) were logged, evented
  // and counted in metrics as `rollback`.
  it("each create result carries the planner's reason: a held canary's refill is no rollback", async () => {
    const provider = recordingProvider(false);
    const ctx = context(provider);
    ctx.templates.remember('web', 'h0', TEMPLATE, 0);
    const refill = {
      ...step([]),
      creates: [
        { templateHash: 'h0', slot: 3, zone: 'a', reason: 'canary-refill' as const },
        { templateHash: 'h1', slot: 0, zone: 'a', reason: 'desired' as const },
      ],
    };
    const results = await executeStep(refill, GROUP, ctx);
    assert.deepEqual(results.map((r) => [r.name, r.reason]).sort(), [
      ['web-h0-3', 'canary-refill'],
      ['web-h1-0', 'desired'],
    ]);
    const rollback = { ...step([]), creates: [{ templateHash: 'h0', slot: 4, zone: 'a', reason: 'rollback' as const }] };
    assert.deepEqual(
      (await executeStep(rollback, GROUP, ctx)).map((r) => r.reason),
      ['rollback'],
    );
  });

  it('a provider without createBatch gets one create per instance', async () => {
    const provider = recordingProvider(false);
    await executeStep(
      step([
        [0, 'a'],
        [1, 'a'],
      ]),
      GROUP,
      context(provider),
    );
    assert.deepEqual(provider.calls.sort(), ['create a 0', 'create a 1']);
  });

  it('the limiter meters a batch as one launch call and one token per instance', async () => {
    const provider = recordingProvider(true);
    const calls: [string, number][] = [];
    const limited = limitProvider(
      provider,
      { concurrency: 4, ratePerSecond: 1000, burst: 1000, launchedInstances: { ratePerSecond: 20, burst: 3 } },
      (c) => calls.push([c.operation, c.throttleWaitMs]),
    );
    await limited.createBatch!([request(1), request(2)]);
    await limited.create(request(0));
    await limited.create(request(5));
    assert.deepEqual(
      calls.map(([op]) => op),
      ['createBatch', 'create', 'create'],
    );
    assert.deepEqual(
      calls.slice(0, 2).map(([, waited]) => waited),
      [0, 0],
      'two + one instance tokens of a burst of three',
    );
    assert.ok((calls[2]?.[1] ?? 0) > 0, 'the fourth instance waited for a refill');
    assert.equal(limited.maxBatchSize, 2);
  });

  it('a launch retried inside the provider takes its instance tokens again (the cloud spent none on the refusal)', async () => {
    const provider = recordingProvider(true);
    provider.createBatch = async (requests, options) => {
      await options?.pacer?.beforeRetry(); // what the AWS retry loop does after a throttled RunInstances
      return requests.map((r) => ({ status: 'fulfilled', value: observed(r) }));
    };
    const limited = limitProvider(
      provider,
      { concurrency: 4, ratePerSecond: 1000, burst: 1000, launchedInstances: { ratePerSecond: 20, burst: 3 } },
      () => undefined,
    );
    const started = performance.now();
    await limited.createBatch!([request(1), request(2), request(3)]);
    assert.ok(performance.now() - started >= 100, 'the retry waited for three more instance tokens (150 ms at 20/s)');
  });

  it('rate limiter: a reserve keeps tokens in hand once the bucket runs low', async () => {
    let now = 0;
    const limiter = new RateLimiter(10, 10, () => now, 2);
    assert.equal(await limiter.take(undefined, 8), 0, 'the burst minus the reserve at once');
    const next = limiter.take();
    now += 100;
    assert.ok((await next) >= 100, 'two tokens left are the reserve: the next call waits for a third');
  });

  it('rate limiter: taking several tokens waits until that many have refilled', async () => {
    let now = 0;
    const limiter = new RateLimiter(10, 5, () => now);
    assert.equal(await limiter.take(undefined, 3), 0);
    const waited = limiter.take(undefined, 3);
    now += 100;
    assert.ok((await waited) >= 100, 'one token short: waited one refill interval');
    assert.equal(await new RateLimiter(1, 2, () => now).take(undefined, 50), 0, 'more than the burst takes the whole burst');
  });
});
