/** The shared fencing helpers (providers/fencing.ts) and the retry loop's handling of a refusal (providers/retry.ts). */
import assert from 'node:assert/strict';
import { FENCE_HEADER } from '../../src/contract/fence.ts';
import { classifyFenceLost, fencedSend, fenceLostOf, isMutatingMethod } from '../../providers/fencing.ts';
import { retryingCaller } from '../../providers/retry.ts';
import { lostFence, rejectionOf, TestFence } from './fence-fixtures.ts';

const POLICY = { maxAttempts: 5, baseDelayMs: 1, throttleBaseDelayMs: 1, maxDelayMs: 2, attemptTimeoutMs: 1000 };

describe('providers/fencing', () => {
  it('checks the fence, then sets the token header, then sends — only for a mutating request with a fence', async () => {
    const steps: string[] = [];
    const fence = new TestFence('42');
    const check = fence.check.bind(fence);
    fence.check = () => (steps.push('check'), check());
    const header = (name: string, value: string) => void steps.push(`${name}=${value}`);
    const send = () => (steps.push('send'), Promise.resolve('sent'));
    assert.equal(await fencedSend(fence, true, header, send), 'sent');
    assert.deepEqual(steps, ['check', `${FENCE_HEADER}=42`, 'send']);
    steps.length = 0;
    await fencedSend(fence, false, header, send);
    await fencedSend(undefined, true, header, send);
    assert.deepEqual(steps, ['send', 'send'], 'reads and unfenced providers neither check nor mark');
  });

  it('a refused check rejects with the FenceLost and never sends', async () => {
    const fence = lostFence('7');
    let sent = 0;
    const error = await rejectionOf(
      fencedSend(
        fence,
        true,
        () => undefined,
        () => Promise.resolve(sent++),
      ),
    );
    assert.equal(error, fence.refusal);
    assert.equal(sent, 0);
    assert.equal(fence.lost.aborted, true);
  });

  it('finds a refusal through SDK wrappers and classifies it Conflict/FenceLost', () => {
    const lost = lostFence('3').refusal;
    const wrapped = new Error('GoogleError', { cause: new Error('GaxiosError', { cause: lost }) });
    assert.equal(fenceLostOf(wrapped), lost);
    assert.equal(fenceLostOf(new Error('other', { cause: new Error('deeper') })), undefined);
    assert.deepEqual(classifyFenceLost(wrapped), { kind: 'Conflict', reason: 'FenceLost', detail: 'LaneTaken' });
    assert.equal(classifyFenceLost(new Error('x')), undefined);
    assert.deepEqual(['GET', 'head', 'OPTIONS', 'POST', 'put', 'PATCH', 'DELETE'].map(isMutatingMethod), [
      false,
      false,
      false,
      true,
      true,
      true,
      true,
    ]);
  });

  it('the retry loop rethrows a refusal at once, the same instance, even one an SDK wrapped and the classifier calls transient', async () => {
    const call = retryingCaller(() => ({ kind: 'Transient', reason: 'Unavailable' }));
    const lost = lostFence('5').refusal;
    let attempts = 0;
    const error = await rejectionOf(
      call('create', { provider: 'p', policy: POLICY }, () => {
        attempts++;
        return Promise.reject(new Error('UNAVAILABLE', { cause: lost }));
      }),
    );
    assert.equal(error, lost);
    assert.equal(attempts, 1);
    let transient = 0;
    await rejectionOf(call('create', { provider: 'p', policy: POLICY }, () => Promise.reject(new Error(`try ${++transient}`))));
    assert.equal(transient, 5, 'other transient errors are still retried');
  });
});
