import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ObservedInstance } from '../../src/contract/provider.ts';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import type { ProbePolicy } from '../../src/reconcile/health.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { RateLimiter } from '../../src/reconcile/rate-limiter.ts';
import { GroupBackoff, notPlannedLog, recordPassOutcome } from '../../src/reconcile/scheduler.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import { fromProviderError, ReconcileError } from '../../src/reconcile/errors.ts';
import type { GroupStep } from '../../src/plan/types.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';

function instance(id: string, state: ObservedInstance['state'], address?: string): ObservedInstance {
  return {
    id,
    name: id,
    provider: 'p',
    zone: 'z',
    state,
    createdAt: 0,
    address,
    fleet: 'f',
    group: 'g',
    templateHash: 'h',
    imageDigest: undefined,
    revision: undefined,
    slot: 0,
  };
}

function none(): ProbePolicy {
  return { probe: { kind: 'none' } };
}

/** failureThreshold 3, periodSeconds 1: failing is confirmed by the third failure at least 1 s after the previous counted one. */
function httpProbe(): ProbePolicy {
  return { probe: { kind: 'http', port: 80, path: '/', scheme: 'http' }, failureThreshold: 3, periodSeconds: 1 };
}

function tcpProbe(): ProbePolicy {
  return { probe: { kind: 'tcp', port: 22 } };
}

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

describe('reconcile building blocks', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-reconcile-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('health: readySince holds while healthy; a ready instance stays ready until failureThreshold failures periodSeconds apart, then is unhealthy since its first failure; unknown instances are forgotten', async () => {
    let healthy = true;
    const tracker = new HealthTracker(async () => healthy);
    const a = instance('a', 'running', '127.0.0.9');
    const [a1] = await tracker.assess([a], httpProbe, 1000);
    assert.equal(a1!.readySince, 1000);
    const [a2] = await tracker.assess([a], httpProbe, 2000);
    assert.equal(a2!.readySince, 1000, 'continuously healthy keeps the first time');
    healthy = false;
    const [a3] = await tracker.assess([a], httpProbe, 3000);
    assert.deepEqual(
      [a3!.readySince, a3!.unhealthySince, a3!.failing],
      [1000, undefined, 'suspected'],
      'one failure proves nothing: still ready',
    );
    assert.equal(tracker.requeueAfterSeconds(3000), 1, 'the next counted probe is due after periodSeconds');
    const [a4] = await tracker.assess([a], httpProbe, 3500);
    assert.deepEqual([a4!.readySince, a4!.failing], [1000, 'suspected'], 'a failure within periodSeconds of the last one does not count');
    const [a5] = await tracker.assess([a], httpProbe, 4000);
    assert.deepEqual([a5!.readySince, a5!.failing], [1000, 'suspected']);
    const [a6] = await tracker.assess([a], httpProbe, 5000);
    assert.deepEqual(
      [a6!.readySince, a6!.unhealthySince, a6!.failing],
      [undefined, 3000, 'confirmed'],
      'third counted failure: unhealthy since the streak began',
    );
    assert.equal(tracker.requeueAfterSeconds(5000), undefined, 'confirmed: nothing more to confirm');
    const [b] = await tracker.assess([instance('b', 'pending')], httpProbe, 6000);
    assert.deepEqual(
      [b!.readySince, b!.unhealthySince, b!.observedSince],
      [undefined, undefined, 6000],
      'never ready: neither fact; observed since now',
    );
    healthy = true;
    const [a7] = await tracker.assess([a], httpProbe, 7000);
    assert.deepEqual(
      [a7!.readySince, a7!.observedSince, a7!.failing],
      [7000, 7000, undefined],
      'a was forgotten while unobserved: readiness and observation start again (safe)',
    );
  });

  it('health: a healthy probe ends a failure streak; a never-ready instance is confirmed failing only after failureThreshold probes', async () => {
    let healthy = false;
    const tracker = new HealthTracker(async () => healthy);
    const a = instance('a', 'running', '127.0.0.9');
    assert.equal((await tracker.assess([a], httpProbe, 0))[0]!.failing, 'suspected');
    assert.equal((await tracker.assess([a], httpProbe, 1000))[0]!.failing, 'suspected');
    healthy = true;
    assert.equal((await tracker.assess([a], httpProbe, 2000))[0]!.failing, undefined);
    healthy = false;
    assert.equal((await tracker.assess([a], httpProbe, 3000))[0]!.failing, 'suspected', 'the streak started over');
    assert.equal((await tracker.assess([a], httpProbe, 4000))[0]!.failing, 'suspected');
    const [last] = await tracker.assess([a], httpProbe, 5000);
    assert.deepEqual(
      [last!.failing, last!.readySince, last!.unhealthySince, last!.observedSince],
      ['confirmed', undefined, 3000, 0],
      'ready since 2000: unhealthy since its streak began',
    );
    const [never] = await new HealthTracker(async () => false).assess([a], httpProbe, 9000);
    assert.deepEqual(
      [never!.failing, never!.unhealthySince, never!.observedSince],
      ['suspected', undefined, 9000],
      'a fresh tracker suspects, never judges, on its first probe',
    );
  });

  it('health: a partial observation (focused pass) keeps the facts of instances it did not list', async () => {
    const tracker = new HealthTracker('provider-state-only');
    await tracker.assess([instance('a', 'running'), instance('b', 'running')], none, 1000);
    const [a] = await tracker.assess([instance('a', 'running')], none, 2000, { forgetUnlisted: false });
    assert.equal(a?.readySince, 1000);
    const later = await tracker.assess([instance('a', 'running'), instance('b', 'running')], none, 3000);
    assert.equal(later.find((i) => i.id === 'b')?.readySince, 1000, 'b stayed ready since 1000');
    const forgot = await tracker.assess([instance('a', 'running')], none, 4000);
    assert.equal(forgot.length, 1);
    assert.equal(
      (await tracker.assess([instance('b', 'running')], none, 5000))[0]?.readySince,
      5000,
      'a full observation forgets: b starts over',
    );
  });

  it('health: without an address or a prober a probed group never becomes ready; provider-state-only trusts running', async () => {
    assert.equal((await new HealthTracker().assess([instance('a', 'running', '127.0.0.9')], tcpProbe, 1))[0]!.readySince, undefined);
    assert.equal((await new HealthTracker(async () => true).assess([instance('a', 'running')], tcpProbe, 1))[0]!.readySince, undefined);
    assert.equal((await new HealthTracker('provider-state-only').assess([instance('a', 'running')], tcpProbe, 1))[0]!.readySince, 1);
    assert.equal(
      (await new HealthTracker('provider-state-only').assess([instance('a', 'stopped')], tcpProbe, 1))[0]!.readySince,
      undefined,
    );
  });

  it('backoff: doubles per consecutive failure (with ±10% jitter), holds the group until then, resets on success', () => {
    const backoff = new GroupBackoff({ random: () => 0.5, maxMs: 8000 });
    backoff.record('g', true, 0);
    assert.deepEqual([...backoff.held(999)], ['g']);
    assert.deepEqual([...backoff.held(1000)], []);
    backoff.record('g', true, 1000);
    assert.equal(backoff.nextEnd(1000), 3000);
    for (let i = 0; i < 10; i++) backoff.record('g', true, 0);
    assert.equal(backoff.nextEnd(0), 8000, 'capped');
    backoff.record('g', false, 0);
    assert.equal(backoff.count('g'), 0);
  });

  it('backoff: an expected wait (policy waiting, e.g. the launch fence) holds the group until its end, counting no failure', () => {
    const refusal = fromProviderError(
      new ProviderError({
        kind: 'Conflict',
        reason: 'LaunchFenced',
        provider: 'aws',
        operation: 'create',
        message: 'm',
        retryAfterMs: 90_000,
      }),
      'create g-0',
    );
    assert.deepEqual([refusal.policy, refusal.requeueAfterMs], ['waiting', 90_000], 'LaunchFenced is a wait of the time left');
    const backoff = new GroupBackoff({ random: () => 0.5 });
    const step = { group: 'g' } as GroupStep;
    const fenced = {
      kind: 'create' as const,
      group: 'g',
      name: 'g-0',
      id: undefined,
      reason: 'desired',
      error: new ReconcileError('waiting', 'LaunchFenced', 'fenced', { requeueAfterMs: 90_000 }),
    };
    const waiting = recordPassOutcome(
      backoff,
      { guarded: { steps: [step] } as unknown as PassResult['guarded'], skipped: [], actions: [fenced] },
      new Set(),
      1000,
    );
    assert.deepEqual([...waiting], [['g', 91_000]]);
    assert.equal(backoff.count('g'), 0, 'no failure counted');
    assert.deepEqual([...backoff.held(90_999)], ['g'], 'held until the fence ends');
    assert.deepEqual([...backoff.held(91_000)], []);
    assert.equal(backoff.nextEnd(1000), 91_000, 'the lane wakes at the fence end');
    // A real failure beside it counts: the group backs off as usual.
    const failed = { ...fenced, name: 'g-1', error: new ReconcileError('transient', 'InsufficientInstanceCapacity', 'no capacity') };
    recordPassOutcome(
      backoff,
      { guarded: { steps: [step] } as unknown as PassResult['guarded'], skipped: [], actions: [fenced, failed] },
      new Set(),
      91_000,
    );
    assert.equal(backoff.count('g'), 1);
    assert.equal(backoff.retryAt('g'), 92_000);
  });

  it('backoff: with real randomness, every wait stays within ±10% of the doubled delay and never passes the cap', () => {
    const maxMs = 5 * 60_000;
    const backoff = new GroupBackoff({ maxMs });
    let seenBelowCap = false;
    for (let draw = 0; draw < 2000; draw++) {
      backoff.record('g', false, 0);
      const failures = 1 + (draw % 12);
      for (let i = 0; i < failures; i++) backoff.record('g', true, 0);
      const wait = backoff.nextEnd(0)!;
      const base = Math.min(maxMs, 1000 * 2 ** (failures - 1));
      assert.ok(wait <= maxMs, `draw ${draw}: ${wait} ms after ${failures} failures exceeds the ${maxMs} ms cap`);
      assert.ok(wait >= 0.9 * base - 1e-9, `draw ${draw}: ${wait} ms below 90% of ${base}`);
      assert.ok(wait <= 1.1 * base + 1e-9, `draw ${draw}: ${wait} ms above 110% of ${base}`);
      if (failures >= 10 && wait < maxMs * 0.99) seenBelowCap = true;
    }
    assert.ok(seenBelowCap, 'capped waits still spread (jitter below the cap), so daemons do not retry in step');
  });

  it('a group not planned says why and when it is retried: throttled (from the provider error kind), zones not listed, other', () => {
    const backoff = new GroupBackoff({ random: () => 0.5 });
    backoff.record('g', true, 1000);
    backoff.record('g', true, 2000);
    const throttled = new ProviderError({
      kind: 'Throttled',
      reason: 'RequestLimitExceeded',
      provider: 'aws',
      operation: 'list',
      message: 'm',
    });
    const line = notPlannedLog(fromProviderError(throttled, 'list aws'), backoff.retryAt('g')! - 2000);
    assert.deepEqual(line, { message: 'group not planned: the cloud is throttling drover, retrying', retryInSeconds: 2 });
    assert.equal(notPlannedLog({ reason: 'ZonesNotListed' }, 500).message, 'group not planned: a zone did not list, retrying');
    assert.deepEqual(notPlannedLog({ reason: 'Unauthorized' }, undefined), { message: 'group not planned' });
  });

  it('rate limiter: a burst passes at once, then calls are paced at the refill rate', async () => {
    let now = 0;
    const limiter = new RateLimiter(10, 3, () => now);
    for (let i = 0; i < 3; i++) assert.equal(await limiter.take(), 0);
    const waited = limiter.take();
    now += 100;
    assert.ok((await waited) >= 100, 'the fourth call waited for a token');
  });

  it('template store: persists atomically, keeps the newest per group, survives a corrupt file', async () => {
    const file = path.join(dir, 'templates.json');
    const store = new TemplateStore(file);
    for (let i = 0; i < 10; i++) store.remember('web', `hash${i}`, { ...TEMPLATE, userData: String(i) }, i);
    await store.save();
    const loaded = new TemplateStore(file);
    await loaded.load();
    assert.equal(loaded.get('web', 'hash9')?.userData, '9');
    assert.equal(loaded.get('web', 'hash0'), undefined, 'only the newest 8 are kept');
    await writeFile(file, '{ not json');
    const corrupt = new TemplateStore(file);
    await corrupt.load();
    assert.equal(corrupt.get('web', 'hash9'), undefined);
  });

  it('failed templates: recorded per group, forgotten once Git moves the group to another template', async () => {
    const file = path.join(dir, 'failed.json');
    const failed = new FailedTemplates(file);
    failed.record('web', 'bad1');
    await failed.save();
    const loaded = new FailedTemplates(file);
    await loaded.load();
    assert.deepEqual([...loaded.of('web')], ['bad1']);
    loaded.forgetAllBut('web', 'bad1');
    assert.deepEqual([...loaded.of('web')], ['bad1'], 'still desired: still failed');
    loaded.forgetAllBut('web', 'next');
    assert.deepEqual([...loaded.of('web')], []);
  });
});
