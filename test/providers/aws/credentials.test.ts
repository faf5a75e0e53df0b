import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAwsProvider } from '../../../providers/aws/open.ts';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { ProviderConfig } from '../../../src/contract/fleet.ts';
import { CONFIG, FAST_RETRY, FLEET, rejectionOf, startSim } from './fixtures.ts';

const ENV_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_PROFILE',
];

/** The operator's binding carries the credentials; the Provider document only the region. */
function withCredentials(credentials: { profile?: string; fromEnv?: boolean }): {
  config: ProviderConfig;
  credentials: typeof credentials;
} {
  return { config: CONFIG, credentials };
}

describe('AWS provider credentials (the sim accepts only known access key ids)', () => {
  let sim: Ec2Simulator;
  let saved: Record<string, string | undefined>;
  let dir: string;

  beforeEach(async () => {
    saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
    for (const k of ENV_KEYS) delete process.env[k];
    dir = await mkdtemp(path.join(tmpdir(), 'drover-aws-creds-'));
    sim = await startSim({ accessKeys: ['AKIDFROMENV', 'AKIDFROMPROFILE'] });
  });
  afterEach(async () => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await rm(dir, { recursive: true, force: true });
    await sim.close();
  });

  it('fromEnv reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, and says so when they are missing', async () => {
    const provider = await createAwsProvider(
      { ...withCredentials({ fromEnv: true }), fleet: FLEET, endpoint: sim.url },
      { retry: FAST_RETRY },
    );
    const missing = await rejectionOf(provider.list({ fleet: FLEET }));
    assert.deepEqual([missing.kind, missing.reason], ['Unauthorized', 'CredentialsMissing']);
    process.env['AWS_ACCESS_KEY_ID'] = 'AKIDFROMENV';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'env-secret';
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
    await provider.close();
  });

  it('profile reads the shared credentials file', async () => {
    const file = path.join(dir, 'credentials');
    await writeFile(file, '[sim]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = profile-secret\n');
    process.env['AWS_SHARED_CREDENTIALS_FILE'] = file;
    process.env['AWS_CONFIG_FILE'] = path.join(dir, 'config');
    const provider = await createAwsProvider(
      { ...withCredentials({ profile: 'sim' }), fleet: FLEET, endpoint: sim.url },
      { retry: FAST_RETRY },
    );
    assert.deepEqual(await provider.list({ fleet: FLEET }), []);
    await provider.close();
  });

  it('refuses a provider document of another type or without a region', async () => {
    const gcp = { ...CONFIG, type: 'gcp' as const };
    assert.equal((await rejectionOf(createAwsProvider({ config: gcp, fleet: FLEET }))).reason, 'WrongProviderType');
    const noRegion = { ...CONFIG, spec: { type: 'aws' as const, region: '' } };
    assert.equal((await rejectionOf(createAwsProvider({ config: noRegion, fleet: FLEET }))).reason, 'RegionMissing');
  });
});
