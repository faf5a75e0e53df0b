/**
 * A one-group fleet on an empty in-memory cloud that refuses every change, and the deps of a real
 * pass over it (stores in `dir`): for tests of what a pass does around planning (stores written,
 * clocks), with no simulator.
 */
import path from 'node:path';
import PQueue from 'p-queue';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { Provider } from '../../src/contract/provider.ts';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { FailedTemplates } from '../../src/reconcile/failed-templates.ts';
import { HealthTracker } from '../../src/reconcile/health.ts';
import { ImageVerifier } from '../../src/reconcile/image-verifier.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';

/** The fleet: group `web` of `replicas` on provider aws-eu. */
export function oneGroupFleet(replicas: number): DesiredState {
  const text = [
    'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: sha256:${'e'.repeat(64)}\n  artifacts: { aws-eu: { id: ami-0123456789abcdef0 } }\n`,
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n`,
  ].join('---\n');
  const loaded = loadFleetFiles([{ file: 'fleet.yaml', text }]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.state;
}

/** A cloud with no instances that refuses every change. */
export function emptyCloud(): Provider {
  return {
    name: 'aws-eu',
    type: 'aws',
    list: () => Promise.resolve([]),
    create: () => Promise.reject(new Error('the test cloud refuses to create')),
    destroy: () => Promise.reject(new Error('the test cloud refuses to delete')),
    verifyImage: () => Promise.resolve(),
    classify: () => 'Transient',
    close: () => Promise.resolve(),
  };
}

/** The deps of a pass over {@link emptyCloud}, stores backed by files in `dir`, planning at `now`. */
export function emptyCloudDeps(dir: string, now: () => number) {
  return {
    providers: new Map([['aws-eu', emptyCloud()]]),
    providerErrors: new Map(),
    health: new HealthTracker(() => Promise.resolve(true)),
    templates: new TemplateStore(path.join(dir, 'templates.json')),
    failed: new FailedTemplates(path.join(dir, 'failed-templates.json')),
    images: new ImageVerifier(),
    queue: new PQueue({ concurrency: 2 }),
    now,
  };
}
