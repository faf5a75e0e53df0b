import assert from 'node:assert/strict';
import { JWT, PassThroughClient } from 'google-auth-library';
import { gceClientOptions } from '../../../providers/gcp/client.ts';
import { createGcpProvider } from '../../../providers/gcp/open.ts';
import { digestLabel, LABEL } from '../../../providers/gcp/labels.ts';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { startFleetSimulators } from '../../../src/cli/fleet-simulators.ts';
import type { DesiredState } from '../../../src/contract/fleet.ts';
import { CONFIG, DIGEST, FLEET, IMAGE, PROJECT, providerFor, rejectionOf, startSim, type Provider } from './fixtures.ts';

const ref = (id: string | undefined, digest = DIGEST) => ({ name: 'web', digest, artifact: id === undefined ? {} : { id } });

describe('GCP verifyImage and client setup', () => {
  let sim: GceSimulator;
  let provider: Provider;

  before(async () => {
    sim = await startSim();
    sim.addImage({
      path: `projects/${PROJECT}/global/images/pending-1`,
      status: 'PENDING',
      labels: { [LABEL.digest]: digestLabel(DIGEST) },
    });
    sim.addImage({ path: `projects/${PROJECT}/global/images/failed-1`, status: 'FAILED', labels: { [LABEL.digest]: digestLabel(DIGEST) } });
    sim.addImage({ path: 'projects/debian-cloud/global/images/unlabelled-1' });
    provider = await providerFor(sim);
  });
  after(async () => {
    await provider.close();
    await sim.close();
  });
  const reasons = async (id: string | undefined, digest?: string): Promise<string> => {
    const e = await rejectionOf(provider.verifyImage(ref(id, digest)));
    return `${e.kind}/${e.reason}`;
  };

  it('accepts the image whose drover-digest label matches, by path, self link or short name', async () => {
    await provider.verifyImage(ref(IMAGE));
    await provider.verifyImage(ref(`https://www.googleapis.com/compute/v1/${IMAGE}`));
    await provider.verifyImage(ref('web-20261121'));
    await provider.verifyImage(ref('global/images/web-20261121'));
  });

  it('refuses a mismatched or missing digest, a missing image, a family, an unusable image', async () => {
    assert.equal(await reasons(IMAGE, `sha256:${'f'.repeat(64)}`), 'Invalid/ImageDigestMismatch');
    assert.equal(await reasons('projects/debian-cloud/global/images/unlabelled-1'), 'Invalid/ImageDigestMismatch');
    assert.equal(await reasons(`projects/${PROJECT}/global/images/nope`), 'Invalid/ImageNotFound');
    assert.equal(await reasons(undefined), 'Invalid/ImageNotFound');
    assert.equal(await reasons('Not An Image'), 'Invalid/ImageNotFound');
    assert.equal(await reasons(`projects/${PROJECT}/global/images/family/web`), 'Invalid/ImageFamilyNotPinned');
    assert.equal(await reasons(`projects/${PROJECT}/global/images/pending-1`), 'Transient/ImageNotAvailable');
    assert.equal(await reasons(`projects/${PROJECT}/global/images/failed-1`), 'Invalid/ImageNotAvailable');
  });

  it('a loopback endpoint override uses a no-op auth client; production uses the Google chain (ADC or keyFile)', async () => {
    const sim1 = gceClientOptions({ config: CONFIG, fleet: FLEET, endpoint: 'http://127.0.0.1:4567' }) as Record<string, unknown>;
    assert.ok(sim1['authClient'] instanceof PassThroughClient);
    assert.deepEqual([sim1['apiEndpoint'], sim1['port'], sim1['protocol']], ['127.0.0.1', 4567, 'http']);
    const adc = gceClientOptions({ config: CONFIG, fleet: FLEET }) as Record<string, unknown>;
    assert.equal(adc['authClient'], undefined);
    assert.equal(adc['keyFilename'], undefined);
    const key = { type: 'service_account', client_email: 'sa@p.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\n…' };
    const keyed = gceClientOptions({ config: CONFIG, fleet: FLEET }, key) as Record<string, unknown>;
    assert.equal(keyed['keyFilename'], undefined, 'never a path: the parsed key');
    assert.ok(keyed['authClient'] instanceof JWT, 'the parsed key, as an auth client (not the deprecated credentials option)');
    assert.equal(keyed['credentials'], undefined);
    assert.equal((await rejectionOf(createGcpProvider({ config: { ...CONFIG, type: 'aws' }, fleet: FLEET }))).reason, 'WrongProviderType');
    assert.equal(
      (await rejectionOf(createGcpProvider({ config: { ...CONFIG, spec: { type: 'gcp', project: 'X' } }, fleet: FLEET }))).reason,
      'ProjectInvalid',
    );
  });

  it('drover sim starts a GCE simulator per gcp provider, seeded with the fleet images', async () => {
    const state = {
      providers: { 'gcp-prod': CONFIG },
      images: { web: { name: 'web', digest: DIGEST, artifacts: { 'gcp-prod': { id: 'web-7' } }, source: CONFIG.source } },
      groups: {},
    } as unknown as DesiredState;
    const { started, unsupported } = await startFleetSimulators(state, { factor: 100 });
    try {
      assert.deepEqual(unsupported, []);
      assert.equal(started[0]?.type, 'gcp');
      const viaSim = await createGcpProvider({ config: CONFIG, fleet: FLEET, endpoint: started[0]!.url });
      await viaSim.verifyImage(ref('web-7'));
      await viaSim.close();
    } finally {
      await Promise.all(started.map((s) => s.close()));
    }
  });
});
