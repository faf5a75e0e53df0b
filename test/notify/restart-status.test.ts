/**
 * After a restart the revision in force is reported on its commit again (outside attack 22 F11:
 * nothing was posted, the Git source's `restored` event reached no one). Real git, the daemon's
 * config loader and GitDesiredSource, the hub wired as the daemon wires it, a recording GitHub.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDaemonConfig } from '../../src/config/daemon-config.ts';
import type { GitSettings } from '../../src/config/types.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { COMMIT_STATUS_DEFAULTS, CommitStatusReporter } from '../../src/notify/forge/commit-status.ts';
import { NotifyHub } from '../../src/notify/hub.ts';
import { GitDesiredSource } from '../../src/reconcile/desired-source.ts';
import type { SourceChange } from '../../src/reconcile/desired-source.ts';
import { TestRepo, tempDir } from '../source/helpers.ts';
import { capturingLog, recordingSleep, startRecordingServer } from './recording-server.ts';

const noop = (): void => {};
const silent = { info: noop, warn: noop };

describe('notify: commit status of the revision in force after a restart', function () {
  this.timeout(60_000);

  it('a restarted daemon posts the restored commit again', async () => {
    const tmp = tempDir('drover-restart-status-');
    const server = await startRecordingServer();
    try {
      const repo = new TestRepo(tmp.path);
      writeFileSync(join(repo.dir, 'fleet.yaml'), 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: restart }\n');
      repo.git('add', '-A');
      repo.git('commit', '-q', '-m', 'fleet');
      const sha = repo.git('rev-parse', 'HEAD');
      const file = join(tmp.path, 'drover.yaml');
      writeFileSync(file, `source:\n  git:\n    url: ${repo.url}\n    interval: 0s\n`);
      const loaded = await loadDaemonConfig(file, {});
      assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.map(formatProblem).join('\n'));
      const git = (loaded.config.source as { git: GitSettings }).git;

      /** One daemon life: the source started, its news handed to a hub with a fresh reporter. */
      const life = async () => {
        const reporter = new CommitStatusReporter(
          {
            ...COMMIT_STATUS_DEFAULTS,
            contexts: 'fleet',
            target: { forge: 'github', baseUrl: `${server.url}/`, repository: 'acme/fleet', token: 't' },
          },
          { log: capturingLog(), sleep: recordingSleep().sleep },
        );
        const hub = new NotifyHub({ commitStatus: reporter });
        const source = new GitDesiredSource(git, join(tmp.path, 'state'), silent);
        const kinds: string[] = [];
        await source.start((change: SourceChange) => {
          kinds.push(change.kind);
          hub.sourceChanged(change, source.current()?.state);
        });
        await reporter.idle();
        await source.stop();
        await reporter.close();
        return kinds;
      };

      await life();
      const first = server.requests.filter((r) => r.path.endsWith(sha)).length;
      assert.ok(first > 0, 'the first life posted the applied commit');
      server.requests.length = 0;
      const kinds = await life();
      const again = server.requests
        .filter((r) => r.path.endsWith(sha))
        .map((r) => JSON.parse(r.body) as { context: string; state: string });
      assert.deepEqual(
        again.map((p) => [p.context, p.state]),
        [['drover/restart', 'success']],
        `after the restart (source news: ${kinds.join(', ')})`,
      );
    } finally {
      await server.close();
      tmp.cleanup();
    }
  });
});
