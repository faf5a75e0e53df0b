/**
 * `drover plan` / `drover apply` open their providers through the composition root, as the daemon
 * does: within the client-side limits (each cloud's defaults under `limits.providers.<name>` of
 * `--config`). Judged by the EC2 simulator's call log: a call the limiter holds never reaches it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFleet } from '../../src/desired/load.ts';
import { openSession } from '../../src/cli/session.ts';
import type { Session } from '../../src/cli/session.ts';
import type { GceSimulator } from '../../providers/gcp/sim.ts';
import { DIGEST, FLEET, IMAGE, PROJECT, startSim } from '../providers/gcp/fixtures.ts';
import { writeFleet } from '../helpers/fleet-files.ts';

const PROVIDER = 'gcp-prod';

const FLEET_YAML = `apiVersion: drover/v1
kind: Fleet
metadata: { name: ${FLEET} }
---
apiVersion: drover/v1
kind: Provider
metadata: { name: ${PROVIDER} }
spec: { type: gcp, project: ${PROJECT} }
---
apiVersion: drover/v1
kind: Image
metadata: { name: web }
spec:
  digest: ${DIGEST}
  artifacts: { ${PROVIDER}: { id: ${IMAGE} } }
`;

describe('plan/apply session: providers within their client-side limits', function () {
  this.timeout(30_000);
  let sim: GceSimulator;
  let fleet: { dir: string; cleanup: () => Promise<void> };
  let tmp: string;
  let session: Session | undefined;

  beforeEach(async () => {
    sim = await startSim();
    fleet = await writeFleet({ 'fleet.yaml': FLEET_YAML });
    tmp = await mkdtemp(path.join(tmpdir(), 'drover-session-limits-'));
  });

  afterEach(async () => {
    await session?.close();
    session = undefined;
    await sim.close();
    await fleet.cleanup();
    await rm(tmp, { recursive: true, force: true });
  });

  it('a call beyond the configured burst waits for a token and never reaches the cloud', async () => {
    const config = path.join(tmp, 'drover.yaml');
    // One token, the next in ~17 minutes: a second call must wait for it (GCE meters every call in one bucket).
    await writeFile(
      config,
      `providers:\n  ${PROVIDER}: { type: gcp, endpoint: '${sim.url}' }\nlimits:\n  providers:\n    ${PROVIDER}: { ratePerSecond: 0.001, burst: 1 }\n`,
    );
    const loaded = await loadFleet(fleet.dir);
    assert.ok(loaded.ok);
    const stateDir = path.join(tmp, 'state');
    session = await openSession(fleet.dir, loaded.state, { config, stateDir, probes: false });
    const provider = session.deps.providers.get(PROVIDER);
    assert.ok(provider, 'the provider opened');
    const held = new AbortController();
    const image = { name: 'web', digest: DIGEST, artifact: { id: IMAGE } };
    const first = provider.verifyImage(image);
    const second = provider.verifyImage(image, { signal: held.signal });
    await first;
    held.abort(new Error('test: stop waiting'));
    await assert.rejects(second);
    assert.deepEqual(sim.engine.calls.counts(), { 'compute.images.get': 1 }, 'the second call was held by the limiter, never sent');
    assert.deepEqual(await readdir(stateDir).catch(() => []), [], 'a plan session writes nothing to the state directory');
  });
});
