import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProviderError } from '../../../src/contract/errors.ts';
import { JWT, PassThroughClient } from 'google-auth-library';
import { gceClientOptions } from '../../../providers/gcp/client.ts';
import { createGcpProvider } from '../../../providers/gcp/open.ts';
import type { ProviderCredentials } from '../../../src/contract/provider.ts';
import { CONFIG } from './fixtures.ts';

const open = (credentials: ProviderCredentials) =>
  createGcpProvider({ config: CONFIG, fleet: 'f', credentials }).then(
    async (p) => {
      await p.close();
      return undefined;
    },
    (e: unknown) => e,
  );

/** Opens a provider at an endpoint override; the rejection, or undefined when it opened. */
const withEndpoint = (credentials: ProviderCredentials, endpoint = 'https://compute.private.example') =>
  createGcpProvider({ config: CONFIG, fleet: 'f', credentials, endpoint }).then(
    async (p) => {
      await p.close();
      return undefined;
    },
    (e: unknown) => e,
  );

describe("GCE credentials at open (the operator binding's key file, parsed)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drover-gce-cred-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: object | string) => {
    const target = path.join(dir, name);
    writeFileSync(target, typeof content === 'string' ? content : JSON.stringify(content));
    return target;
  };

  it('a key file that cannot be read fails the provider at open, naming the setting and the errno', async () => {
    const error = await open({ keyFile: '/nonexistent/drover-sa.json' });
    assert.ok(error instanceof ProviderError);
    assert.deepEqual([error.kind, error.reason], ['Unauthorized', 'KeyFileUnreadable']);
    assert.match(error.message, /^providers\.gcp-prod\.credentials\.keyFile "\/nonexistent\/drover-sa\.json": cannot be read \(ENOENT\)/);
  });

  it('a pasted secret where the file name belongs is not repeated', async () => {
    const pasted = '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----canary"}';
    const error = await open({ keyFile: pasted });
    assert.ok(error instanceof ProviderError && error.reason === 'KeyFileUnreadable');
    assert.ok(!error.message.includes('canary') && !JSON.stringify(error).includes('canary'), error.message);
  });

  it('refuses external_account (credential_source file or url) and other types unless the binding opts in', async () => {
    const external = {
      type: 'external_account',
      audience: 'x',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'http://127.0.0.1:9/token',
      credential_source: { file: '/etc/shadow' },
    };
    for (const [name, content] of [
      ['external.json', external],
      ['user.json', { type: 'authorized_user', refresh_token: 'canary-refresh' }],
      ['none.json', { private_key: 'x' }],
      ['text.json', 'not json canary'],
    ] as const) {
      const error = await open({ keyFile: file(name, content) });
      assert.ok(error instanceof ProviderError, `${name}: ${String(error)}`);
      assert.ok(['KeyFileTypeRefused', 'KeyFileInvalid'].includes(error.reason), `${name}: ${error.reason}`);
      assert.ok(!error.message.includes('canary') && !error.message.includes('/etc/shadow'), error.message);
    }
    assert.equal(
      await open({ keyFile: file('external2.json', external), allowExternalAccount: true }),
      undefined,
      'the operator opted in: opened',
    );
  });

  it('with an endpoint override the key file is still read and used; only a loopback endpoint without credentials gets no auth', async () => {
    const external = {
      type: 'external_account',
      audience: 'x',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      token_url: 'http://127.0.0.1:9/token',
      credential_source: { file: '/etc/shadow' },
    };
    const refused = await withEndpoint({ keyFile: file('external-endpoint.json', external) });
    assert.ok(
      refused instanceof ProviderError && refused.reason === 'KeyFileTypeRefused',
      `an external_account key without opt-in is refused with an endpoint too: ${String(refused)}`,
    );
    const unreadable = await withEndpoint({ keyFile: '/nonexistent/drover-sa.json' });
    assert.ok(unreadable instanceof ProviderError && unreadable.reason === 'KeyFileUnreadable', String(unreadable));
    const key = {
      type: 'service_account',
      client_email: 'sa@p.iam.gserviceaccount.com',
      private_key: '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n',
      private_key_id: 'k1',
    };
    const keyed = gceClientOptions({ config: CONFIG, fleet: 'f', endpoint: 'https://compute.private.example' }, key) as Record<
      string,
      unknown
    >;
    assert.ok(keyed['authClient'] instanceof JWT, 'the key signs requests to the private endpoint');
    assert.equal((keyed['authClient'] as JWT).email, 'sa@p.iam.gserviceaccount.com');
    assert.equal(keyed['credentials'], undefined, 'no deprecated credentials option');
    const loopback = gceClientOptions({ config: CONFIG, fleet: 'f', endpoint: 'http://127.0.0.1:4567' }) as Record<string, unknown>;
    assert.ok(loopback['authClient'] instanceof PassThroughClient, 'a simulator on this machine: no auth');
    const remote = gceClientOptions({ config: CONFIG, fleet: 'f', endpoint: 'https://compute.private.example' }) as Record<string, unknown>;
    assert.ok(
      !(remote['authClient'] instanceof PassThroughClient),
      'a remote private endpoint without a key uses the Google chain, never unauthenticated',
    );
  });
});
