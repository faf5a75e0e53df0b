import assert from 'node:assert/strict';
import { commonSimFlags, SimFlagError, splitKeyValues } from '../../src/sim/cli.ts';

describe('simulator command lines: shared flags and arguments', () => {
  it('checks --port and --factor, naming the flag', () => {
    assert.deepEqual(commonSimFlags({ port: '4566', host: '127.0.0.1', factor: '20' }), { port: 4566, host: '127.0.0.1', factor: 20 });
    assert.throws(
      () => commonSimFlags({ port: 'abc', host: 'h', factor: '1' }),
      (e: unknown) => e instanceof SimFlagError && /--port .* got 'abc'/.test(e.message),
    );
    assert.throws(() => commonSimFlags({ port: '70000', host: 'h', factor: '1' }), SimFlagError);
    assert.throws(
      () => commonSimFlags({ port: '0', host: 'h', factor: '0' }),
      (e: unknown) => e instanceof SimFlagError && e.message.startsWith('--factor'),
    );
  });

  it('splits ID,KEY=VALUE… and ignores pairs without a key', () => {
    assert.deepEqual(splitKeyValues('ami-1,drover:digest=sha256:ab,=x,flag'), { head: 'ami-1', pairs: { 'drover:digest': 'sha256:ab' } });
    assert.deepEqual(splitKeyValues(''), { head: '', pairs: {} });
  });
});
