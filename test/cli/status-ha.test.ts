/** `drover status` under HA: each group's holder, and every lane with its holder, token and summary. */
import assert from 'node:assert/strict';
import { renderStatus } from '../../src/cli/status.ts';
import type { GroupRow } from '../../src/cli/status.ts';

const group = (name: string, provider: string, heldBy: string | null): GroupRow => ({
  name,
  provider,
  replicas: 2,
  strategy: 'rolling',
  desiredTemplateHash: 'abc123',
  conditions: [{ type: 'Ready', status: 'True', reason: 'Ready' }],
  counts: { live: 2, ready: 2, updatedReady: 2 },
  waitingFor: [],
  heldBy,
});

describe('drover status: HA', () => {
  it('adds HELD BY to the groups and a table of lanes', () => {
    const text = renderStatus({
      fleet: 'prod',
      source: { lastAppliedRevision: 'r1' },
      groups: [group('web-a', 'aws-a', 'drover-a'), group('web-b', 'aws-b', 'drover-b')],
      ha: {
        replica: 'drover-a',
        health: { ok: true, reason: '' },
        lanes: [
          {
            lane: 'aws-a',
            here: true,
            holder: { replica: 'drover-a', token: '41', since: '2026-01-01T00:00:00.000Z' },
            summary: { publishedAt: '2026-01-01T00:01:00.000Z', revision: 'r1' },
          },
          { lane: 'aws-b', here: false, holder: { replica: 'drover-b', token: '57', since: '2026-01-01T00:00:02.000Z' } },
          { lane: 'gcp', here: false },
        ],
      },
    });
    const lines = text.split('\n');
    assert.match(
      lines.find((l) => l.startsWith('GROUP'))!,
      /^GROUP\s+PROVIDER\s+HELD BY\s+STRATEGY/,
    );
    assert.match(
      lines.find((l) => l.startsWith('web-b'))!,
      /^web-b\s+aws-b\s+drover-b\s+rolling/,
    );
    assert.ok(lines.includes('replica drover-a: connected to etcd'));
    assert.match(
      lines.find((l) => l.startsWith('aws-a'))!,
      /drover-a \(this replica\)\s+41\s+2026-01-01T00:00:00.000Z\s+2026-01-01T00:01:00.000Z @ r1/,
    );
    assert.match(
      lines.find((l) => l.startsWith('aws-b'))!,
      /drover-b\s+57\s/,
    );
    assert.match(
      lines.find((l) => l.startsWith('gcp'))!,
      /^gcp\s+\(nobody\)\s+-/,
    );
  });

  it('without HA: the table as before, no HELD BY, no lanes', () => {
    const text = renderStatus({ fleet: 'prod', groups: [group('web-a', 'aws-a', null)] });
    assert.ok(!text.includes('HELD BY') && !text.includes('LANE'));
    assert.match(text, /^GROUP\s+PROVIDER\s+STRATEGY/m);
  });
});
