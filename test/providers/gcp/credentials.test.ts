import assert from 'node:assert/strict';
import { ProviderError } from '../../../providers/errors.ts';
import { createGcpProvider } from '../../../providers/gcp/index.ts';
import type { GcpProviderSpec, ProviderConfig } from '../../../src/desired/types.ts';
import { CONFIG } from './fixtures.ts';

function withKeyFile(keyFile: string): ProviderConfig {
  return { ...CONFIG, spec: { ...(CONFIG.spec as GcpProviderSpec), credentials: { keyFile } } };
}

describe('GCE credentials at open', () => {
  it('a key file that cannot be read fails the provider at open, naming the setting and the errno', async () => {
    const error = await createGcpProvider({ config: withKeyFile('/nonexistent/drover-sa.json'), fleet: 'f' }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ProviderError);
    assert.deepEqual([error.kind, error.reason], ['Unauthorized', 'KeyFileUnreadable']);
    assert.match(error.message, /^spec\.credentials\.keyFile "\/nonexistent\/drover-sa\.json" of provider .* cannot be read \(ENOENT\)/);
  });

  it('a pasted secret where the file name belongs is not repeated', async () => {
    const pasted = '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----canary"}';
    const error = await createGcpProvider({ config: withKeyFile(pasted), fleet: 'f' }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ProviderError && error.reason === 'KeyFileUnreadable');
    assert.ok(!error.message.includes('canary') && !JSON.stringify(error).includes('canary'), error.message);
  });
});
