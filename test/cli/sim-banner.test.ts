/** `drover sim` prints a curl line that works for each world, with --cacert for the https simulators (issue 19 item 7). */
import assert from 'node:assert/strict';
import { banner } from '../../src/cli/sim.ts';
import type { ProviderSimulator } from '../../src/cli/fleet-simulators.ts';

const sim = (provider: string, type: ProviderSimulator['type'], url: string) =>
  ({ provider, type, url, env: {} }) as unknown as ProviderSimulator;

describe('drover sim banner', () => {
  it('gives https worlds their CA file', () => {
    const text = banner(
      [sim('aws-eu', 'aws', 'http://127.0.0.1:4566'), sim('azure-prod', 'azure', 'https://127.0.0.1:4567')],
      [],
      10,
      '/tmp/x/drover.yaml',
      new Map([['azure-prod', '/tmp/x/azure-prod-ca.pem']]),
      'fixtures/demo',
    );
    assert.match(text, /world: curl http:\/\/127\.0\.0\.1:4566\/_sim\/world$/m);
    assert.match(text, /world: curl --cacert \/tmp\/x\/azure-prod-ca\.pem https:\/\/127\.0\.0\.1:4567\/_sim\/world$/m);
    assert.match(text, /^ {2}npx drover plan .* --config \/tmp\/x\/drover\.yaml$/m);
  });

  it('suggests plan on the fleet directory it was given, quoted for the shell when needed (it always said fixtures/demo)', () => {
    const one = banner([sim('aws-eu', 'aws', 'http://127.0.0.1:4566')], [], 10, '/tmp/x/drover.yaml', new Map(), '../my-fleet');
    assert.match(one, /^ {2}npx drover plan \.\.\/my-fleet --no-probes --config \/tmp\/x\/drover\.yaml$/m);
    assert.doesNotMatch(one, /fixtures\/demo/);
    const spaced = banner([sim('aws-eu', 'aws', 'http://127.0.0.1:4566')], [], 10, '/tmp/x/drover.yaml', new Map(), "ops/it's fleet");
    assert.match(spaced, /^ {2}npx drover plan 'ops\/it'\\''s fleet' --no-probes/m);
  });
});
