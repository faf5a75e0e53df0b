import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProviderError } from '../../../src/contract/errors.ts';
import { createProxmoxProvider } from '../../../providers/proxmox/open.ts';
import { tokenSecret } from '../../../providers/proxmox/credentials.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { ProviderCredentials } from '../../../src/contract/provider.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import { configOf, FLEET, rejectionOf, startSim } from './fixtures.ts';

describe('Proxmox credentials and TLS', () => {
  let sim: ProxmoxSimulator;
  let dir: string;
  before(async () => {
    sim = await startSim();
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pve-'));
  });
  after(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The Provider document's scope plus the operator's binding (credentials, CA, skip-verify). */
  const context = (
    credentials: ProviderCredentials,
    extra: { caPem?: string; insecureSkipVerify?: boolean; staticCredentials?: Record<string, string> } = {},
  ) => ({ config: configOf(), fleet: FLEET, endpoint: sim.url, credentials: { tokenId: 'drover@pve!sim', ...credentials }, ...extra });

  it('reads the token secret from secretEnv (default PVE_TOKEN_SECRET) or secretFile; a missing one names where it looked, never a value', async () => {
    assert.equal(tokenSecret(context({}), { PVE_TOKEN_SECRET: 's1' }), 's1');
    assert.equal(tokenSecret(context({ tokenId: 'a@pve!b', secretEnv: 'LAB_PVE' }), { LAB_PVE: 's2', PVE_TOKEN_SECRET: 'other' }), 's2');
    const file = path.join(dir, 'secret');
    await writeFile(file, 's3\n');
    assert.equal(tokenSecret(context({ tokenId: 'a@pve!b', secretFile: file }), {}), 's3');
    const missing = (() => {
      try {
        tokenSecret(context({}), { OTHER: 'x' });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    assert.ok(missing instanceof ProviderError);
    assert.deepEqual([missing.kind, missing.reason], ['Unauthorized', 'SecretMissing']);
    assert.match(missing.message, /PVE_TOKEN_SECRET/);
  });

  it('a wrong secret is Unauthorized, and the secret appears in no error and no log line', async () => {
    const secret = 'wrong-secret-7f3a';
    const lines: string[] = [];
    const logger = {
      debug: (f: object, m: string) => lines.push(m + JSON.stringify(f)),
      warn: (f: object, m: string) => lines.push(m + JSON.stringify(f)),
    };
    const provider = await createProxmoxProvider(
      { ...context({}, { caPem: sim.caPem, staticCredentials: { tokenSecret: secret } }) },
      { ...proxmox.fastOptions, logger },
    );
    try {
      const error = await rejectionOf(provider.list({ fleet: FLEET }));
      assert.ok(error instanceof ProviderError);
      assert.deepEqual([error.kind, error.reason], ['Unauthorized', 'AuthenticationFailed']);
      assert.equal(provider.classify(error), 'Unauthorized');
      const seen = `${error.message} ${String((error.cause as Error | undefined)?.message)} ${lines.join(' ')}`;
      assert.ok(!seen.includes(secret), seen);
    } finally {
      await provider.close();
    }
  });

  it("verifies TLS by default: the simulator certificate is refused until its CA is trusted (the binding's caPem)", async () => {
    const untrusted = await createProxmoxProvider(context({}, { staticCredentials: { tokenSecret: sim.tokenSecret } }), {
      ...proxmox.fastOptions,
      retry: { ...proxmox.fastOptions.retry, maxAttempts: 1 },
    });
    try {
      const error = await rejectionOf(untrusted.list({ fleet: FLEET }));
      assert.ok(error instanceof ProviderError);
      assert.deepEqual([error.kind, error.reason], ['Unauthorized', 'TlsVerificationFailed']);
    } finally {
      await untrusted.close();
    }
    const pinned = await createProxmoxProvider(
      context({}, { caPem: sim.caPem, staticCredentials: { tokenSecret: sim.tokenSecret } }),
      proxmox.fastOptions,
    );
    try {
      assert.deepEqual(await pinned.list({ fleet: FLEET }), []);
    } finally {
      await pinned.close();
    }
  });

  it("insecureSkipVerify works only as the binding's explicit opt-out (its warning: test/reliability/secrets-attacker.test.ts, JSON log)", async () => {
    const provider = await createProxmoxProvider(
      context({}, { insecureSkipVerify: true, staticCredentials: { tokenSecret: sim.tokenSecret } }),
      proxmox.fastOptions,
    );
    try {
      assert.deepEqual(await provider.list({ fleet: FLEET }), []);
    } finally {
      await provider.close();
    }
  });

  it('refuses a provider document of another type', async () => {
    const error = await rejectionOf(createProxmoxProvider({ config: { ...configOf(), type: 'aws' }, fleet: FLEET }));
    assert.equal((error as ProviderError).reason, 'WrongProviderType');
  });
});
