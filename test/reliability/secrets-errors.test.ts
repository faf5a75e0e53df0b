/**
 * Secrets, unit level (issue 10): the errors drover builds from failing cloud calls and refused
 * configuration never carry a credential — in `message`, `JSON.stringify(error)`, the pino log line
 * (`err` serializer, causes included) or `util.inspect`.
 */
import assert from 'node:assert/strict';
import { checkUrl, displayUrl, redactPatterns } from '../../src/source/index.ts';
import { describeLeaks, makeCanaries, scan } from './secrets-harness.ts';

describe('reliability/secrets: errors and messages', function () {
  this.timeout(60_000);
  const canaries = makeCanaries('canary-proj-1234');

  describe('repository URLs with credentials', () => {
    const password = canaries.gitUrlPassword;
    const half = Math.floor(password.length / 2);
    // How people paste credentials: unencoded '@', '/', '#', '?', ' ' inside the password too.
    const urls = [
      `https://deploy:${password}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)}@${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)}/${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:5/${password}@127.0.0.1/fleet.git`,
      `https://deploy:${password.slice(0, half)}#${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)}?${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://deploy:${password.slice(0, half)} ${password.slice(half)}@127.0.0.1:1/fleet.git`,
      `https://${password}@127.0.0.1:1/fleet.git`,
      `https://deploy:${encodeURIComponent(`${password}/x`)}@127.0.0.1:1/fleet.git`,
      `ssh://git:${password}@127.0.0.1/fleet.git`,
      `deploy:${password}@127.0.0.1:fleet.git`,
      `ext::sh -c echo https://deploy:${password}@127.0.0.1/x`,
    ];
    const urlCanary = canaries.list.filter((c) => c.name === 'git.urlPassword');
    // Halves of the password: what a cut at the wrong '@' or '/' leaves behind.
    const halves = [{ name: 'git.urlPassword (first half)', value: password.slice(0, half), secret: true }, { name: 'git.urlPassword (second half)', value: password.slice(half), secret: true }];

    it('are refused with a message that shows no part of the password', () => {
      const captures = urls.map((url, i) => {
        try {
          checkUrl(url);
          // Accepted (`https://deploy:5/…@host` parses as host "deploy", port 5): status shows displayUrl.
          return { where: `checkUrl #${i} (accepted)`, text: displayUrl(url) };
        } catch (error) {
          return { where: `checkUrl #${i}`, text: `${(error as Error).message}\n${JSON.stringify(error)}` };
        }
      });
      assert.ok(captures.filter((c) => c.where.endsWith('(accepted)')).length <= 1, 'credentialed URLs are refused');
      const leaks = scan(captures, [...urlCanary, ...halves]);
      assert.deepEqual(leaks, [], `leaks:\n${describeLeaks(leaks)}`);
    });

    it('displayUrl and the free-text patterns mask the whole userinfo', () => {
      const captures = urls.flatMap((url, i) => [
        { where: `displayUrl #${i}`, text: displayUrl(url) },
        { where: `redactPatterns #${i}`, text: redactPatterns(`fatal: unable to access '${url}': Failed to connect`) },
      ]);
      // Free text cannot tell where a password with a space ends (#6), nor spot `user:pass@host:path`
      // without a scheme (#10); both are refused by checkUrl before git ever sees them.
      const leaks = scan(captures.filter((c) => !['redactPatterns #6', 'redactPatterns #10'].includes(c.where)), [...urlCanary, ...halves]);
      assert.deepEqual(leaks, [], `leaks:\n${describeLeaks(leaks)}`);
      assert.equal(displayUrl('git@github.com:acme/fleet.git'), 'git@github.com:acme/fleet.git', 'scp-like URLs keep their (password-less) user');
      assert.equal(displayUrl('https://github.com/acme/fleet.git'), 'https://github.com/acme/fleet.git');
      assert.equal(displayUrl('https://x-access-token:tok@github.com/acme/fleet.git'), 'https://github.com/acme/fleet.git');
    });
  });
});
