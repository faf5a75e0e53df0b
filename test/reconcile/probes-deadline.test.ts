/**
 * Issue 18 leftover: while a group's probes are judged broken (ProbesFailing=True), a rollout's
 * progress deadline still ran, so the new instances' probe failures — the probes' fault — rolled
 * the rollout back. A held group's deadline does not count running instances whose only fault is
 * their probe; an instance that never boots still fails the rollout. Real passes (runPass) over an
 * in-memory cloud whose instances never change, with a prober the test controls.
 */
import assert from 'node:assert/strict';
import PQueue from 'p-queue';
import type { InstanceState, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { runPass } from '../../src/reconcile/pass.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';

const DIGEST = `sha256:${'d'.repeat(64)}`;
const OLD = 'a0a0a0a0a0a0';
const DEADLINE_SECONDS = 60;
const NEW_ID = 'i-new-0';
const NEW_ADDRESS = '127.0.0.20';

function fleet(): DesiredState {
  const docs = [
    'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ami-0123456789abcdef0 } }\n`,
    'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 3\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n' +
      `  rollout: { maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0, progressDeadlineSeconds: ${DEADLINE_SECONDS}, autoRollback: true }\n` +
      '  health: { tcp: { port: 22 }, gracePeriodSeconds: 0, failureThreshold: 1, periodSeconds: 1 }\n',
  ];
  const loaded = loadFleetFiles([{ file: 'fleet.yaml', text: docs.join('---\n') }]);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  return loaded.state;
}

/** Three old instances and the rollout's first new one (slot 0), all launched at 0. */
function world(state: DesiredState, newState: InstanceState): ObservedInstance[] {
  const one = (id: string, templateHash: string, slot: number, st: InstanceState): ObservedInstance => ({
    id,
    name: `web-${templateHash}-${slot}`,
    provider: 'aws-eu',
    zone: 'eu-west-1a',
    state: st,
    createdAt: 0,
    address: id === NEW_ID ? NEW_ADDRESS : `127.0.0.${10 + slot}`,
    fleet: 'f',
    group: 'web',
    templateHash,
    imageDigest: DIGEST,
    revision: 'r0',
    slot,
  });
  return [
    one('i-old-0', OLD, 0, 'running'),
    one('i-old-1', OLD, 1, 'running'),
    one('i-old-2', OLD, 2, 'running'),
    one(NEW_ID, state.groups.web!.templateHash, 0, newState),
  ];
}

function cloud(instances: readonly ObservedInstance[]): Provider {
  return {
    name: 'aws-eu',
    type: 'aws',
    list: () => Promise.resolve([...instances]),
    create: () => Promise.reject(new Error('plan only')),
    destroy: () => Promise.reject(new Error('plan only')),
    verifyImage: () => Promise.resolve(),
    classify: () => 'Transient',
    close: () => Promise.resolve(),
  };
}

/** Plan-only passes at 1 s, then every 10 s to 2 × the deadline. */
async function passes(
  state: DesiredState,
  instances: readonly ObservedInstance[],
  healthy: (address: string) => boolean,
): Promise<PassResult[]> {
  let now = 1_000;
  const deps = {
    providers: new Map([['aws-eu', cloud(instances)]]),
    providerErrors: new Map(),
    health: new HealthTracker((address) => Promise.resolve(healthy(address))),
    templates: new TemplateStore(),
    failed: new FailedTemplates(),
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: 4 }),
    now: () => now,
  };
  const results: PassResult[] = [];
  for (; now <= 2 * DEADLINE_SECONDS * 1000; now += 10_000) results.push(await runPass(state, 'r1', deps, { execute: false }));
  return results;
}

const condition = (r: PassResult, type: string) => r.guarded.steps[0]?.status.conditions.find((c) => c.type === type);
const rolledBack = (r: PassResult) =>
  r.guarded.steps[0]?.failedTemplate !== undefined || r.guarded.steps[0]?.creates.some((c) => c.reason === 'rollback') === true;

describe('reconcile: the progress deadline while probes are judged broken', () => {
  it('every probe fails (ProbesFailing): the rollout is not rolled back past its deadline', async () => {
    const state = fleet();
    const results = await passes(state, world(state, 'running'), () => false);
    assert.ok(
      results.every((r) => condition(r, 'ProbesFailing')?.status === 'True'),
      'ProbesFailing holds throughout',
    );
    assert.deepEqual(
      results.filter(rolledBack).map((r) => r.finishedAt),
      [],
      'no pass failed the rollout or launched a rollback',
    );
    assert.ok(
      results.every((r) => r.guarded.steps[0]?.deletes.length === 0),
      'nothing deleted',
    );
  });

  it('control: probes work and the new instance alone fails its probe: rolled back at the deadline', async () => {
    const state = fleet();
    const results = await passes(state, world(state, 'running'), (address) => address !== NEW_ADDRESS);
    assert.ok(
      results.every((r) => condition(r, 'ProbesFailing')?.status === 'False'),
      '1 of 4 failing: believed',
    );
    const first = results.find(rolledBack);
    assert.ok(first !== undefined, 'the rollout failed');
    assert.ok(first.finishedAt >= DEADLINE_SECONDS * 1000, 'not before its deadline');
  });

  it('an instance that never boots still fails the rollout while probes are judged broken', async () => {
    const state = fleet();
    const results = await passes(state, world(state, 'pending'), () => false);
    assert.ok(results.every((r) => condition(r, 'ProbesFailing')?.status === 'True'));
    const first = results.find(rolledBack);
    assert.ok(
      first !== undefined && first.finishedAt >= DEADLINE_SECONDS * 1000,
      'rolled back at its deadline: pending is no probe verdict',
    );
  });
});
