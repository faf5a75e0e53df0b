/**
 * etcd over TLS with client certificates: the coordinator presents the operator's CA, certificate
 * and key (PEM, as src/config reads them from files) and campaigns; without a client certificate
 * etcd refuses it and it stays not ready.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { EtcdServer } from '../helpers/etcd.ts';
import type { EtcdTlsFiles } from '../helpers/etcd.ts';
import { fleetId, startReplica, waitFor } from './ha-fixture.ts';
import type { Replica } from './ha-fixture.ts';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function makePki(dir: string): EtcdTlsFiles & { clientCert: string; clientKey: string } {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '1', '-subj', '/CN=drover-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  for (const [name, cn, ext] of [
    ['server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth'],
    ['client', 'drover', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    openssl('req', '-new', ...ec, '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    execFileSync('sh', ['-c', `printf '${ext}\\n' > ${name}.ext`], { cwd: dir });
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  }
  return {
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    clientCert: readFileSync(file('client.crt'), 'utf8'),
    clientKey: readFileSync(file('client.key'), 'utf8'),
  };
}

describe('EtcdCoordinator with etcd over TLS', function () {
  this.timeout(60_000);
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  let etcd: EtcdServer;
  const replicas: Replica[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'drover-etcd-pki-'));
    pki = makePki(dir);
    etcd = await EtcdServer.start(pki);
  });

  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.coordinator.stop()));
  });

  after(async () => {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the CA and a client certificate, and holds its lanes', async () => {
    const tls = { caPem: readFileSync(pki.caFile, 'utf8'), certPem: pki.clientCert, keyPem: pki.clientKey };
    const a = await startReplica(etcd.endpoint, fleetId(), 'a', ['x', 'y'], {}, { tls });
    replicas.push(a);
    await waitFor('a holds both', () => a.coordinator.holds().size === 2);
    for (const hold of a.coordinator.holds().values()) await hold.fence.check();
    assert.ok(a.coordinator.health().ok);
  });

  it('is refused without a client certificate and stays not ready', async () => {
    const tls = { caPem: readFileSync(pki.caFile, 'utf8') };
    const a = await startReplica(etcd.endpoint, fleetId(), 'a', ['x'], {}, { tls });
    replicas.push(a);
    await sleep(1500);
    assert.equal(a.coordinator.health().ok, false);
    assert.equal(a.coordinator.holds().size, 0);
    await waitFor('health names the client certificate, not an outage', () =>
      /^etcd TLS handshake fails since .*: etcd requires a client certificate: set ha\.etcd\.certFile and ha\.etcd\.keyFile \(ERR_SSL_[\w/]+\)/.test(
        a.coordinator.health().reason,
      ),
    );
  });

  it("a CA that did not sign etcd's certificate is named as such, not as etcd unreachable", async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'drover-etcd-pki-other-'));
    try {
      const wrong = makePki(other);
      const tls = { caPem: readFileSync(wrong.caFile, 'utf8'), certPem: pki.clientCert, keyPem: pki.clientKey };
      const a = await startReplica(etcd.endpoint, fleetId(), 'a', ['x'], {}, { tls });
      replicas.push(a);
      await waitFor('health names ha.etcd.caFile', () =>
        /^etcd TLS handshake fails since .*: etcd's certificate is not signed by the CA in ha\.etcd\.caFile \(\w+\)/.test(
          a.coordinator.health().reason,
        ),
      );
      assert.equal(a.coordinator.holds().size, 0);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});
