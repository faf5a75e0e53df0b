/**
 * A pass plans on its providers' clock (a simulator's runs ×50 in the demo) but people read the
 * status on the wall clock: `lastPass.startedAt` of GET /api/v1/status (FleetView's published pass)
 * and the pass's duration are wall-clock (outside attack 23 F9: the demo showed lastPass.startedAt
 * an hour ahead while every other time of the status was wall-clock). A real pass over an empty
 * in-memory cloud whose clock is years ahead.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FleetView } from '../../src/reconcile/fleet-view.ts';
import { runPass } from '../../src/reconcile/pass.ts';
import { emptyCloudDeps, oneGroupFleet } from './empty-cloud.ts';

/** The simulated cloud's clock: far from the wall clock. */
const CLOUD = Date.parse('2031-06-01T00:00:00Z');

describe('reconcile: the clocks of a pass', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pass-clock-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("plans on the providers' clock; the published last pass (status lastPass) is on the wall clock", async () => {
    const state = oneGroupFleet(0);
    const deps = emptyCloudDeps(dir, () => CLOUD);
    const before = Date.now();
    const result = await runPass(state, 'r1', deps, { execute: true });
    const after = Date.now();
    assert.equal(result.startedAt, CLOUD, 'planning time is the cloud clock');
    const view = new FleetView();
    view.publish(view.record('aws-eu', result, state));
    const last = view.lastPass!.result;
    assert.ok(
      last.startedAt >= before && last.startedAt <= after,
      `lastPass.startedAt ${new Date(last.startedAt).toISOString()} on the wall clock`,
    );
    assert.ok(last.finishedAt >= last.startedAt && last.finishedAt <= after);
  });
});
