/**
 * The executor on a step that both launches and replaces old instances (a rolling update with
 * surge): the old instances go only once the launches went out, so a launch refused for a reason
 * nobody could check beforehand (no capacity in the zone) costs no capacity; deletes needed
 * whatever happens (a stopped instance) go first, as before.
 */
import assert from 'node:assert/strict';
import PQueue from 'p-queue';
import { ProviderError } from '../../src/contract/errors.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../src/contract/provider.ts';
import type { DesiredGroup, LaunchTemplate } from '../../src/contract/fleet.ts';
import type { DeleteAction, DeleteReason, GroupStep } from '../../src/plan/types.ts';
import { executeStep } from '../../src/reconcile/execute.ts';
import type { ExecuteContext } from '../../src/reconcile/execute.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
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
const GROUP = { name: 'web', image: 'web', templateHash: 'new', template: TEMPLATE } as unknown as DesiredGroup;

function instance(id: string, templateHash: string, state: ObservedInstance['state'] = 'running'): ObservedInstance {
  return {
    id,
    name: id,
    provider: 'p',
    zone: 'a',
    state,
    createdAt: 0,
    address: undefined,
    fleet: 'f',
    group: 'web',
    templateHash,
    imageDigest: 'd',
    revision: 'r',
    slot: 0,
  };
}

/** A provider that records its calls in order; its creates fail with `createError` when given. */
function recording(createError?: ProviderError): Provider & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    name: 'p',
    type: 'aws',
    list: () => Promise.resolve([]),
    create: (r: CreateRequest) => {
      calls.push(`create ${r.owner.slot}`);
      return createError === undefined
        ? Promise.resolve({ ...instance(`i-new-${r.owner.slot}`, 'new', 'pending'), slot: r.owner.slot })
        : Promise.reject(createError);
    },
    destroy: (i: ObservedInstance) => {
      calls.push(`destroy ${i.id}`);
      return Promise.resolve();
    },
    verifyImage: () => Promise.resolve(),
    classify: () => 'Transient',
    close: () => Promise.resolve(),
  };
}

function del(id: string, reason: DeleteReason, ready: boolean): DeleteAction {
  return { id, name: id, group: 'web', zone: 'a', templateHash: 'old', reason, ready };
}

/** Replicas 3 rolling to `new` (1 on it): one launch, one old instance replaced, one stopped instance removed. */
const STEP = {
  group: 'web',
  provider: 'p',
  creates: [{ templateHash: 'new', slot: 1, zone: 'a', reason: 'desired' }],
  deletes: [del('i-old-1', 'template-changed', true), del('i-stopped', 'drift-stopped', false)],
  waits: [],
  requeueAfterSeconds: undefined,
  failedTemplate: undefined,
  status: { targetTemplateHash: 'new', replicas: 3, counts: { updated: 1 } },
} as unknown as GroupStep;

function context(provider: Provider): ExecuteContext {
  const observed = new Map([instance('i-old-1', 'old'), instance('i-stopped', 'old', 'stopped')].map((i) => [i.id, i]));
  return {
    fleet: 'f',
    revision: 'r',
    providers: new Map([['p', provider]]),
    observed,
    templates: new TemplateStore('/nonexistent/templates.json'),
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: 4 }),
  };
}

describe('executor: old instances replaced only once their launch went out', () => {
  it('a refused launch (no capacity): the stopped instance is deleted, the ready old one kept', async () => {
    const provider = recording(
      new ProviderError({
        kind: 'Transient',
        reason: 'InsufficientInstanceCapacity',
        provider: 'p',
        operation: 'create',
        message: 'no capacity in zone a',
      }),
    );
    const results = await executeStep(STEP, GROUP, context(provider));
    assert.deepEqual(provider.calls, ['destroy i-stopped', 'create 1']);
    assert.deepEqual(
      results.map((r) => `${r.kind} ${r.reason} ${r.error?.reason ?? 'ok'}`),
      ['delete drift-stopped ok', 'create desired InsufficientInstanceCapacity'],
    );
  });

  it('a launch that went out: the old instance is deleted after it', async () => {
    const provider = recording();
    const results = await executeStep(STEP, GROUP, context(provider));
    assert.deepEqual(provider.calls, ['destroy i-stopped', 'create 1', 'destroy i-old-1']);
    assert.ok(results.every((r) => r.error === undefined));
  });
});
