/**
 * A pass plans on its providers' clock (a simulator's runs ×50 in the demo) but people read the
 * status on the wall clock: `lastPass.startedAt` of GET /api/v1/status (FleetView's published pass)
 * and the pass's duration are wall-clock (outside attack 23 F9: the demo showed lastPass.startedAt
 * an hour ahead while every other time of the status was wall-clock). A real pass over an empty
 * in-memory cloud whose clock is years ahead.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import PQueue from 'p-queue';
import type { Provider } from '../../src/contract/provider.ts';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import { FleetView } from '../../src/reconcile/fleet-view.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { runPass } from '../../src/reconcile/pass.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';

const FLEET = [
  'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
  `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: sha256:${'e'.repeat(64)}\n  artifacts: { aws-eu: { id: ami-0123456789abcdef0 } }\n`,
  'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 0\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n',
].join('---\n');
/** The simulated cloud's clock: far from the wall clock. */
const CLOUD = Date.parse('2031-06-01T00:00:00Z');

function emptyCloud(): Provider {
  return {
    name: 'aws-eu',
    type: 'aws',
    list: () => Promise.resolve([]),
    create: () => Promise.reject(new Error('nothing to create')),
    destroy: () => Promise.reject(new Error('nothing to delete')),
    verifyImage: () => Promise.resolve(),
    classify: () => 'Transient',
    close: () => Promise.resolve(),
  };
}

describe('reconcile: the clocks of a pass', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pass-clock-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("plans on the providers' clock; the published last pass (status lastPass) is on the wall clock", async () => {
    const loaded = loadFleetFiles([{ file: 'fleet.yaml', text: FLEET }]);
    assert.ok(loaded.ok);
    const deps = {
      providers: new Map([['aws-eu', emptyCloud()]]),
      providerErrors: new Map(),
      health: new HealthTracker(() => Promise.resolve(true)),
      templates: new TemplateStore(path.join(dir, 'templates.json')),
      failed: new FailedTemplates(path.join(dir, 'failed-templates.json')),
      images: new ImageVerifier(),
      queue: new PQueue({ concurrency: 2 }),
      now: () => CLOUD,
    };
    const before = Date.now();
    const result = await runPass(loaded.state, 'r1', deps, { execute: true });
    const after = Date.now();
    assert.equal(result.startedAt, CLOUD, 'planning time is the cloud clock');
    const view = new FleetView();
    view.publish(view.record('aws-eu', result, loaded.state));
    const last = view.lastPass!.result;
    assert.ok(
      last.startedAt >= before && last.startedAt <= after,
      `lastPass.startedAt ${new Date(last.startedAt).toISOString()} on the wall clock`,
    );
    assert.ok(last.finishedAt >= last.startedAt && last.finishedAt <= after);
  });
});
