/**
 * A TLS failure against an endpoint whose CA drover does not trust (issue 19 item 7): classified
 * TlsVerificationFailed at once (not retried 8 times as a network error) and reported with the
 * DROVER_CA_FILE_<NAME> to set; with that variable, the same plan observes the provider. Real
 * process, the Azure simulator's https with its self-signed CA.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { classifyAws } from '../../providers/aws/classify.ts';
import { classifyAzure } from '../../providers/azure/classify.ts';
import { startAzureSimulator } from '../../providers/azure/sim.ts';
import type { AzureSimulator } from '../../providers/azure/sim.ts';
import { classifyGce } from '../../providers/gcp/classify.ts';
import { writeFleet } from '../helpers/fleet-files.ts';
import { drover } from './drover-process.ts';

const SUBSCRIPTION = '3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f';
const FLEET = {
  'fleet.yaml': 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: tls-fleet }\n',
  'provider.yaml': `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: azure-prod }\nspec: { type: azure, subscriptionId: ${SUBSCRIPTION}, resourceGroup: rg-acme-prod, location: westeurope }\n`,
};

describe('TLS trust failures', function () {
  this.timeout(120_000);

  it('every cloud classifies a TLS trust failure, however wrapped, as TlsVerificationFailed (not retried)', () => {
    const wrapped = Object.assign(new Error('request failed'), {
      cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
    for (const classify of [classifyAws, classifyAzure, classifyGce]) {
      assert.deepEqual(classify(wrapped), { kind: 'Unauthorized', reason: 'TlsVerificationFailed' });
    }
  });

  describe('drover plan against an https endpoint with a private CA', () => {
    let sim: AzureSimulator;
    let tmp: string;
    before(async () => {
      sim = await startAzureSimulator({ subscriptionId: SUBSCRIPTION, location: 'westeurope', factor: 50 });
      tmp = mkdtempSync(path.join(tmpdir(), 'drover-tls-'));
      writeFileSync(path.join(tmp, 'ca.pem'), sim.ca);
    });
    after(async () => {
      await sim.close();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('names DROVER_CA_FILE_AZURE_PROD, and observes the provider once it is set', async () => {
      const fleet = await writeFleet(FLEET);
      const env = { DROVER_PROVIDERS__AZURE_PROD__TYPE: 'azure', DROVER_ENDPOINT_AZURE_PROD: sim.url, DROVER_AZURE_TOKEN: 'drover-sim' };
      const args = ['plan', fleet.dir, '--state-dir', path.join(tmp, 'state')];
      try {
        const refused = await drover(args, env);
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stdout, /^provider azure-prod: not observed: .*TlsVerificationFailed$/m);
        assert.doesNotMatch(refused.stdout, /after \d+ attempts/);
        assert.match(
          refused.stdout,
          /^ {2}fix: the endpoint's TLS certificate is not trusted: give its CA as a PEM file with providers\.azure-prod\.caFile .* or DROVER_CA_FILE_AZURE_PROD=CA\.pem/m,
        );
        const trusted = await drover(args, { ...env, DROVER_CA_FILE_AZURE_PROD: path.join(tmp, 'ca.pem') });
        assert.equal(trusted.code, 0, trusted.stdout + trusted.stderr);
        assert.match(trusted.stdout, /^provider azure-prod: 0 instances observed$/m);
      } finally {
        await fleet.cleanup();
      }
    });
  });
});
