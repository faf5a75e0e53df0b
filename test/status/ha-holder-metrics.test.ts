/**
 * `drover_ha_lane_holder` shows who holds each lane as etcd last said; while this replica cannot
 * reach etcd that map is old (every lane may have moved or been lost since), so the series is
 * withheld rather than shown as current (attack21b N9) and `drover_ha_lane_view_current` says 0.
 */
import assert from 'node:assert/strict';
import { DaemonMetrics } from '../../src/status/metrics.ts';

describe('metrics: lane holders while etcd is unreachable', () => {
  it('exports the holders while etcd answers, none while it does not, and says whether the view is current', async () => {
    const metrics = new DaemonMetrics();
    let ok = true;
    metrics.enableHa(
      () => ok,
      () => [
        { lane: 'aws-eu', replica: 'drover-a' },
        { lane: 'gcp-prod', replica: 'drover-b' },
      ],
    );
    const up = await metrics.registry.metrics();
    assert.match(up, /^drover_ha_lane_holder\{lane="aws-eu",replica="drover-a"\} 1$/m);
    assert.match(up, /^drover_ha_lane_view_current 1$/m);
    ok = false;
    const down = await metrics.registry.metrics();
    assert.doesNotMatch(down, /^drover_ha_lane_holder\{/m, 'no holder presented as current');
    assert.match(down, /^drover_ha_lane_view_current 0$/m);
  });
});
