/**
 * Issue 20 review (F1): a pass that does not execute (`drover plan`) changed nothing in the cloud
 * but still saved the template store, so `drover plan` created templates.json in its state
 * directory. A real pass (runPass, execute: false) over an empty in-memory cloud, with stores
 * backed by files in a fresh directory: the directory stays empty.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import type { Provider } from '../../src/contract/provider.ts';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { runPass } from '../../src/reconcile/pass.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';

const DIGEST = `sha256:${'e'.repeat(64)}`;
const FLEET = [
  'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ami-0123456789abcdef0 } }\n`,
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 2\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
].join('---\n');

/** A cloud with no instances that refuses every change (a dry run must not ask for one). */
function emptyCloud(): Provider {
  return {
    name: 'aws-eu',
    type: 'aws',
    list: () => Promise.resolve([]),
    create: () => Promise.reject(new Error('a dry run created an instance')),
    destroy: () => Promise.reject(new Error('a dry run deleted an instance')),
    verifyImage: () => Promise.resolve(),
    classify: () => 'Transient',
    close: () => Promise.resolve(),
  };
}

describe('reconcile: a pass that does not execute', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-dry-run-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('plans the creates but saves no store to the state directory', async () => {
    const loaded = loadFleetFiles([{ file: 'fleet.yaml', text: FLEET }]);
    assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
    const deps = {
      providers: new Map([['aws-eu', emptyCloud()]]),
      providerErrors: new Map(),
      health: new HealthTracker(() => Promise.resolve(true)),
      templates: new TemplateStore(path.join(dir, 'templates.json')),
      failed: new FailedTemplates(path.join(dir, 'failed-templates.json')),
      images: new ImageVerifier(),
      queue: new PQueue({ concurrency: 2 }),
      now: () => 1_000,
    };
    const result = await runPass(loaded.state, 'r1', deps, { execute: false });
    assert.equal(result.guarded.steps[0]?.creates.length, 2, 'the pass planned the group (so it had a template to remember)');
    assert.deepEqual(await readdir(dir), [], 'a dry-run pass wrote nothing');
  });
});
