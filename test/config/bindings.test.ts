/**
 * The operator's provider bindings (issue 17): the config schema and checks of `providers.<name>`
 * and `providers.requireBinding`, and how a Provider document is matched with its binding
 * (lockdown, Proxmox, type mismatch, endpoints, files a commit could have written).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isLoopback } from '../../src/contract/loopback.ts';
import { loadDaemonConfig, loadProviderBindings } from '../../src/config/daemon-config.ts';
import type { ProviderBinding } from '../../src/config/types.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import type { ProviderConfig } from '../../src/contract/fleet.ts';
import { ReconcileError } from '../../src/reconcile/errors.ts';
import { resolveBinding } from '../../src/reconcile/provider-bindings.ts';
import type { BindingSources } from '../../src/reconcile/provider-bindings.ts';

const source = { file: 'providers.yaml', line: 1, col: 1 };
const aws: ProviderConfig = { name: 'aws-eu', type: 'aws', spec: { type: 'aws', region: 'eu-west-1' }, source };
const pve: ProviderConfig = { name: 'pve-lab', type: 'proxmox', spec: { type: 'proxmox', nodes: ['pve1'] }, source };

describe('config: provider bindings', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drover-bindings-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = (text: string) => {
    const file = path.join(dir, `drover-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };
  const problems = async (text: string, env: NodeJS.ProcessEnv = {}) => {
    const result = await loadDaemonConfig(configFile(text), env);
    return result.ok ? [] : result.problems.map((p) => formatProblem(p).replace(/^.*?drover-[a-z0-9]+\.yaml/, 'drover.yaml'));
  };

  it('holds bindings beside requireBinding; provider names are lowercase so the two never collide', async () => {
    const result = await loadDaemonConfig(
      configFile(
        [
          'source: { dir: ./fleet }',
          'providers:',
          '  requireBinding: true',
          '  pve-lab: { type: proxmox, endpoint: "https://pve.lab:8006", caFile: /etc/drover/pve-ca.pem, credentials: { tokenId: "drover@pve!ops", secretFile: /run/secrets/pve } }',
          '  aws-eu: { type: aws, credentials: { profile: prod }, listLagSeconds: 60 }',
          '',
        ].join('\n'),
      ),
      {},
    );
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.equal(result.config.requireBinding, true);
    assert.deepEqual(Object.keys(result.config.providers).sort(), ['aws-eu', 'pve-lab']);
    assert.equal(result.config.providers['pve-lab']!.credentials!.tokenId, 'drover@pve!ops');
    assert.deepEqual(
      await problems('source: { dir: ./fleet }\nproviders:\n  RequireBinding: true\n'),
      ["drover.yaml:3:3: unknown field 'RequireBinding' in 'providers' (did you mean 'requireBinding'?) (at /providers/RequireBinding)"],
      'a key that is neither a provider name nor requireBinding is refused',
    );
  });

  it('refuses, at file:line:col, credentials of another type, a Proxmox binding without a token id, credentials without a type, and http to a remote host', async () => {
    const found = await problems(
      [
        'source: { dir: ./fleet }',
        'providers:',
        '  aws-eu: { type: aws, credentials: { tokenId: "a@pve!b" } }',
        '  pve-lab: { type: proxmox, endpoint: "https://pve:8006" }',
        '  azure: { type: azure, endpoint: "http://10.0.0.5:8443" }',
        '',
      ].join('\n'),
    );
    assert.equal(found.length, 3, found.join('\n'));
    assert.deepEqual(await problems('source: { dir: ./fleet }\nproviders:\n  gcp: { credentials: { keyFile: /k.json } }\n'), [
      "drover.yaml:3:8: missing required field 'type' in 'providers.gcp' (at /providers/gcp)",
    ]);
    assert.match(
      found.join('\n'),
      /drover\.yaml:3:\d+: 'providers\.aws-eu\.credentials\.tokenId' is a proxmox credential, but this binding is for type aws/,
    );
    assert.match(found.join('\n'), /drover\.yaml:4:\d+: 'providers\.pve-lab' binds a Proxmox provider: set credentials\.tokenId/);
    assert.match(
      found.join('\n'),
      /drover\.yaml:5:\d+: 'providers\.azure\.endpoint' is http:\/\/ to 10\.0\.0\.5: credentials would cross the network in clear text/,
    );
  });

  it('refuses a binding without a type (an endpoint or CA alone could be handed to any cloud), naming the field', async () => {
    assert.deepEqual(
      await problems(
        'source: { dir: ./fleet }\nproviders:\n  aws-eu: { endpoint: "https://127.0.0.1:47443", caFile: /etc/drover/ca.pem }\n',
      ),
      ["drover.yaml:3:11: missing required field 'type' in 'providers.aws-eu' (at /providers/aws-eu)"],
    );
    const fromEnv = await loadProviderBindings(undefined, { DROVER_PROVIDERS__AWS_EU__ENDPOINT: 'http://127.0.0.1:4566' });
    assert.ok(!fromEnv.ok);
    assert.deepEqual(fromEnv.problems.map(formatProblem), [
      "<environment>: DROVER_PROVIDERS__AWS_EU__ENDPOINT: missing required field 'type' in 'providers.aws-eu' (at /providers/aws-eu)",
    ]);
  });

  it('says a credential of another type is one, even when its value would not fit that type either; refuses AWS-only and contradictory options', async () => {
    assert.deepEqual(await problems('source: { dir: ./fleet }\nproviders:\n  aws-eu: { type: aws, credentials: { tokenId: root } }\n'), [
      "drover.yaml:3:48: 'providers.aws-eu.credentials.tokenId' is a proxmox credential, but this binding is for type aws (its credentials: profile, fromEnv) (at /providers/aws-eu/credentials/tokenId)",
    ]);
    assert.deepEqual(
      await problems(
        'source: { dir: ./fleet }\nproviders:\n  gcp: { type: gcp, listLagSeconds: 60 }\n  pve: { type: proxmox, endpoint: "https://pve:8006", credentials: { tokenId: "a@pve!b", secretFile: /run/s, secretEnv: PVE_S } }\n',
      ),
      [
        "drover.yaml:3:37: 'providers.gcp.listLagSeconds' applies to AWS only (EC2's eventually consistent list); remove it (at /providers/gcp/listLagSeconds)",
        "drover.yaml:4:121: 'providers.pve.credentials' has both secretFile and secretEnv; keep one (at /providers/pve/credentials/secretEnv)",
      ],
    );
  });

  it('takes URL schemes and host names in any case (HTTP://LOCALHOST is loopback)', async () => {
    assert.deepEqual(
      await problems(
        'source: { dir: ./fleet }\nproviders:\n  aws-eu: { type: aws, endpoint: "HTTP://LOCALHOST:4566" }\n  aws-us: { type: aws, endpoint: "HTTP://10.0.0.5:4566" }\n',
      ),
      [
        "drover.yaml:4:34: 'providers.aws-us.endpoint' is http:// to 10.0.0.5: credentials would cross the network in clear text; use https:// (http:// is accepted for loopback addresses only: 127.0.0.0/8, [::1], localhost) (at /providers/aws-us/endpoint)",
      ],
    );
  });

  it('accepts http:// only for loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', '[::1]', 'LOCALHOST'])
      assert.ok(isLoopback(new URL(`http://${host}:4566`).hostname), host);
    for (const host of ['10.0.0.1', 'localhost.evil.example', '127.0.0.1.nip.io', '[::2]', '0.0.0.0', '169.254.169.254'])
      assert.ok(!isLoopback(new URL(`http://${host}:4566`).hostname), host);
  });

  it('maps DROVER_PROVIDERS__<NAME>__… to the provider name with dashes, and REQUIRE_BINDING to the flag', async () => {
    const result = await loadProviderBindings(undefined, {
      DROVER_PROVIDERS__PVE_LAB__TYPE: 'proxmox',
      DROVER_PROVIDERS__PVE_LAB__ENDPOINT: 'https://pve:8006',
      DROVER_PROVIDERS__PVE_LAB__CREDENTIALS__TOKEN_ID: 'drover@pve!x',
      DROVER_PROVIDERS__REQUIRE_BINDING: 'true',
    });
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    assert.equal(result.bindings.requireBinding, true);
    assert.deepEqual(result.bindings.providers['pve-lab'], {
      type: 'proxmox',
      endpoint: 'https://pve:8006',
      insecureSkipVerify: false,
      credentials: { tokenId: 'drover@pve!x' },
    });
  });
});

/** The stalled ReconcileError `resolveBinding` rejects with. */
const refusal = async (config: ProviderConfig, from: BindingSources) => {
  const error = await resolveBinding(config, from).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ReconcileError, String(error));
  assert.equal(error.policy, 'stalled');
  return error;
};

describe("provider bindings: a Provider document meets the operator's binding", () => {
  let dir: string;
  let state: string;
  let checkout: string;
  const warnings: string[] = [];
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'drover-resolve-'));
    state = path.join(dir, 'state');
    checkout = path.join(state, 'source', 'snapshots', 'abc');
    mkdirSync(checkout, { recursive: true });
    writeFileSync(path.join(checkout, 'ca.pem'), 'committed CA');
    writeFileSync(path.join(dir, 'ca.pem'), 'operator CA');
    symlinkSync(path.join(checkout, 'ca.pem'), path.join(dir, 'innocent-looking.pem'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sources = (bindings: Record<string, ProviderBinding>, extra: Partial<BindingSources> = {}): BindingSources => ({
    bindings,
    env: {},
    untrustedRoots: [state],
    warn: (_fields, message) => warnings.push(message),
    ...extra,
  });
  it('an unbound AWS/GCP/Azure provider gets nothing from anywhere but the ambient chain', async () => {
    assert.deepEqual(await resolveBinding(aws, sources({})), {});
  });

  it('requireBinding refuses an unbound provider; Proxmox is always refused unbound; both say what to add', async () => {
    const locked = await refusal(aws, sources({}, { requireBinding: true }));
    assert.equal(locked.reason, 'ProviderNotBound');
    assert.match(locked.message, /providers\.requireBinding is true.*adds providers\.aws-eu/);
    const proxmox = await refusal(pve, sources({ 'aws-eu': { type: 'aws' } }));
    assert.equal(proxmox.reason, 'ProviderNotBound');
    assert.match(proxmox.message, /add providers\.pve-lab: \{ type: proxmox, endpoint: https:\/\/HOST:8006, credentials: \{ tokenId/);
  });

  it('never hands a binding to a document of another type', async () => {
    const error = await refusal(
      { ...aws, name: 'pve-lab' },
      sources({ 'pve-lab': { type: 'proxmox', endpoint: 'https://pve:8006', credentials: { tokenId: 'a@pve!b' } } }),
    );
    assert.equal(error.reason, 'ProviderNotBound');
    assert.match(error.message, /binding providers\.pve-lab is for type proxmox, but the Provider document is aws/);
  });

  it('refuses CA and credential files inside the state directory or checkout, symlinks resolved', async () => {
    const inside = await refusal(
      pve,
      sources({
        'pve-lab': {
          type: 'proxmox',
          endpoint: 'https://pve:8006',
          caFile: path.join(checkout, 'ca.pem'),
          credentials: { tokenId: 'a@pve!b' },
        },
      }),
    );
    assert.equal(inside.reason, 'ProviderBindingInvalid');
    assert.match(inside.message, /providers\.pve-lab\.caFile .* lies inside/);
    const linked = await refusal(
      pve,
      sources({
        'pve-lab': {
          type: 'proxmox',
          endpoint: 'https://pve:8006',
          caFile: path.join(dir, 'innocent-looking.pem'),
          credentials: { tokenId: 'a@pve!b' },
        },
      }),
    );
    assert.equal(linked.reason, 'ProviderBindingInvalid');
    const key = await refusal(
      { ...aws, name: 'gcp', type: 'gcp', spec: { type: 'gcp', project: 'acme-prod-4821' } },
      sources({ gcp: { type: 'gcp', credentials: { keyFile: path.join(checkout, 'ca.pem') } } }),
    );
    assert.match(key.message, /providers\.gcp\.credentials\.keyFile/);
    const env = await refusal(
      aws,
      sources({ 'aws-eu': { type: 'aws' } }, { env: { DROVER_CA_FILE_AWS_EU: path.join(dir, 'innocent-looking.pem') } }),
    );
    assert.match(env.message, /DROVER_CA_FILE_AWS_EU .* lies inside/);
  });

  it("reads the operator's CA, takes endpoints from flag, binding, then DROVER_ENDPOINT_<NAME>, and refuses http to a remote host from any of them", async () => {
    const bound = await resolveBinding(
      pve,
      sources({
        'pve-lab': {
          type: 'proxmox',
          endpoint: 'https://pve:8006',
          caFile: path.join(dir, 'ca.pem'),
          listLagSeconds: 7,
          credentials: { tokenId: 'a@pve!b' },
        },
      }),
    );
    assert.deepEqual(bound, { endpoint: 'https://pve:8006', caPem: 'operator CA', credentials: { tokenId: 'a@pve!b' }, listLagMs: 7000 });
    assert.equal(
      (await resolveBinding(aws, sources({ 'aws-eu': { type: 'aws' } }, { env: { DROVER_ENDPOINT_AWS_EU: 'http://127.0.0.1:4566' } })))
        .endpoint,
      'http://127.0.0.1:4566',
    );
    assert.equal(
      (
        await resolveBinding(
          aws,
          sources({ 'aws-eu': { type: 'aws', endpoint: 'https://a:1' } }, { endpointFlags: new Map([['aws-eu', 'http://localhost:9']]) }),
        )
      ).endpoint,
      'http://localhost:9',
    );
    const remote = await refusal(
      aws,
      sources({ 'aws-eu': { type: 'aws' } }, { env: { DROVER_ENDPOINT_AWS_EU: 'http://ec2.internal:4566' } }),
    );
    assert.equal(remote.reason, 'ProviderBindingInvalid');
    assert.match(remote.message, /DROVER_ENDPOINT_AWS_EU is http:\/\/ to ec2\.internal/);
  });

  it('DROVER_ENDPOINT_<NAME> and DROVER_CA_FILE_<NAME> apply only to a name the operator bound to a type', async () => {
    const azure: ProviderConfig = {
      name: 'aws-eu',
      type: 'azure',
      spec: { type: 'azure', subscriptionId: '3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f', resourceGroup: 'rg', location: 'westeurope' },
      source,
    };
    for (const env of [{ DROVER_ENDPOINT_AWS_EU: 'http://127.0.0.1:4566' }, { DROVER_CA_FILE_AWS_EU: path.join(dir, 'ca.pem') }]) {
      const variable = Object.keys(env)[0]!;
      for (const doc of [aws, azure]) {
        const error = await refusal(doc, sources({}, { env }));
        assert.equal(error.reason, 'ProviderBindingInvalid');
        assert.match(
          error.message,
          new RegExp(
            `${variable} is set, but the operator's config does not bind provider aws-eu to a type: set DROVER_PROVIDERS__AWS_EU__TYPE`,
          ),
        );
      }
    }
    const typed = { 'aws-eu': { type: 'aws' as const } };
    assert.equal(
      (await resolveBinding(aws, sources(typed, { env: { DROVER_ENDPOINT_AWS_EU: 'http://127.0.0.1:4566' } }))).endpoint,
      'http://127.0.0.1:4566',
    );
    const other = await refusal(azure, sources(typed, { env: { DROVER_ENDPOINT_AWS_EU: 'http://127.0.0.1:4566' } }));
    assert.equal(other.reason, 'ProviderNotBound');
  });

  it('insecureSkipVerify is passed on and warned about at every open', async () => {
    warnings.length = 0;
    const binding = {
      'pve-lab': { type: 'proxmox' as const, endpoint: 'https://pve:8006', insecureSkipVerify: true, credentials: { tokenId: 'a@pve!b' } },
    };
    assert.equal((await resolveBinding(pve, sources(binding))).insecureSkipVerify, true);
    await resolveBinding(pve, sources(binding));
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /TLS verification disabled/);
  });
});
