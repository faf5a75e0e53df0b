/**
 * Canary credentials and a leak scanner for the secrets suite (issue 10). Every canary is unique
 * per run, starts with random characters (so a prefix match means that canary, nothing else) and
 * is searched for in every form a careless serializer could produce: raw, a prefix and a suffix,
 * base64 at each byte alignment, base64url, URL-encoded, JSON-escaped, and (for PEM keys) every
 * body line.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One planted credential. */
export interface Canary {
  /** What it is, e.g. `aws.secretAccessKey`. */
  readonly name: string;
  readonly value: string;
  /**
   * true: a secret, must never appear. false: an identifier (AWS access key id, service-account
   * email, Proxmox token id): not secret by the cloud's own standard, reported but not a failure.
   */
  readonly secret: boolean;
  /** Extra exact strings derived from it that are as bad as the value (a Basic header, a signed form…). */
  readonly derived?: readonly string[];
}

/** A needle: one form of one canary. */
interface Needle {
  readonly canary: Canary;
  readonly form: string;
  readonly text: string;
  readonly caseInsensitive: boolean;
}

/** Somewhere drover wrote something. */
export interface Capture {
  readonly where: string;
  readonly text: string;
}

/** A canary found in a capture. */
export interface Leak {
  readonly canary: string;
  readonly secret: boolean;
  readonly form: string;
  readonly where: string;
  /** Up to 80 characters around the hit, with the hit itself masked. */
  readonly context: string;
}

const MIN_FRAGMENT = 10;

function rand(alphabet: string, n: number): string {
  const bytes = randomBytes(n);
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
}
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const MIXED = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A GCE service-account key file, with a real RSA private key (never used to sign anything real). */
export interface ServiceAccountKey {
  readonly json: string;
  readonly privateKeyPem: string;
  readonly privateKeyId: string;
  readonly clientEmail: string;
}

/** Builds a service-account key JSON the way `gcloud iam service-accounts keys create` writes one. */
export function serviceAccountKey(project: string): ServiceAccountKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const privateKeyId = randomBytes(20).toString('hex');
  const clientEmail = `drover-${rand('abcdefghijklmnopqrstuvwxyz', 8)}@${project}.iam.gserviceaccount.com`;
  const json = JSON.stringify(
    {
      type: 'service_account',
      project_id: project,
      private_key_id: privateKeyId,
      private_key: privateKeyPem,
      client_email: clientEmail,
      client_id: String(100_000_000_000_000_000_000n + BigInt(randomBytes(6).readUIntBE(0, 6))),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: 'https://oauth2.googleapis.com/token',
    },
    null,
    2,
  );
  return { json, privateKeyPem, privateKeyId, clientEmail };
}

/** Every credential path drover has, with canary values. */
export interface Canaries {
  readonly awsAccessKeyId: string;
  readonly awsSecretAccessKey: string;
  readonly awsSessionToken: string;
  readonly gce: ServiceAccountKey;
  /** A bearer token as the GCE SDK would send after exchanging the key (unit level). */
  readonly gceAccessToken: string;
  readonly azureToken: string;
  readonly azureClientSecret: string;
  readonly pveTokenId: string;
  readonly pveSecret: string;
  readonly apiToken: string;
  readonly webhookSecret: string;
  readonly gitToken: string;
  readonly gitUrlPassword: string;
  /** A secret pasted into the fleet by mistake (refused by the loader; the message must not echo it). */
  readonly inlineFleetSecret: string;
  readonly list: readonly Canary[];
}

/** Makes a fresh set of canaries. */
export function makeCanaries(gceProject: string): Canaries {
  const awsAccessKeyId = `AKIA${rand(UPPER, 16)}`;
  // '/' and '+' as real AWS secret keys have them: URL-encoding must be checked too.
  const awsSecretAccessKey = `${rand(MIXED, 10)}/CanaryAwsSecret+${rand(MIXED, 13)}`;
  const awsSessionToken = `IQoJ${rand(MIXED, 12)}CanaryAwsSession${rand(MIXED, 60)}==`;
  const gce = serviceAccountKey(gceProject);
  const gceAccessToken = `ya29.${rand(MIXED, 12)}CanaryGceAccess${rand(MIXED, 40)}`;
  const azureToken = `eyJ${rand(MIXED, 12)}.CanaryAzureBearer.${rand(MIXED, 40)}`;
  const azureClientSecret = `${rand(MIXED, 10)}~CanaryAzureClientSecret${rand(MIXED, 10)}`;
  const pveTokenId = `drover@pve!canary${rand('abcdefghijklmnopqrstuvwxyz', 6)}`;
  const pveSecret = randomUUID();
  const apiToken = `${rand(MIXED, 12)}CanaryApiToken${rand(MIXED, 20)}`;
  const webhookSecret = `${rand(MIXED, 12)}CanaryWebhookHmac${rand(MIXED, 20)}`;
  const gitToken = `ghp_${rand(MIXED, 12)}CanaryGitToken${rand(MIXED, 10)}`;
  const gitUrlPassword = `${rand(MIXED, 10)}CanaryUrlPass${rand(MIXED, 10)}`;
  const inlineFleetSecret = `${rand(MIXED, 12)}CanaryInlineFleetSecret${rand(MIXED, 12)}`;
  const list: Canary[] = [
    { name: 'aws.accessKeyId', value: awsAccessKeyId, secret: false },
    { name: 'aws.secretAccessKey', value: awsSecretAccessKey, secret: true },
    { name: 'aws.sessionToken', value: awsSessionToken, secret: true },
    { name: 'gce.privateKey', value: gce.privateKeyPem, secret: true, derived: pemBodyLines(gce.privateKeyPem) },
    { name: 'gce.privateKeyId', value: gce.privateKeyId, secret: true },
    { name: 'gce.clientEmail', value: gce.clientEmail, secret: false },
    { name: 'gce.accessToken', value: gceAccessToken, secret: true },
    { name: 'azure.token', value: azureToken, secret: true },
    { name: 'azure.clientSecret', value: azureClientSecret, secret: true },
    { name: 'proxmox.tokenId', value: pveTokenId, secret: false },
    { name: 'proxmox.secret', value: pveSecret, secret: true, derived: [`PVEAPIToken=${pveTokenId}=${pveSecret}`] },
    { name: 'api.token', value: apiToken, secret: true },
    { name: 'webhook.secret', value: webhookSecret, secret: true },
    { name: 'git.token', value: gitToken, secret: true, derived: [Buffer.from(`x-access-token:${gitToken}`).toString('base64')] },
    { name: 'git.urlPassword', value: gitUrlPassword, secret: true },
    { name: 'fleet.inlineSecret', value: inlineFleetSecret, secret: true },
  ];
  return {
    awsAccessKeyId,
    awsSecretAccessKey,
    awsSessionToken,
    gce,
    gceAccessToken,
    azureToken,
    azureClientSecret,
    pveTokenId,
    pveSecret,
    apiToken,
    webhookSecret,
    gitToken,
    gitUrlPassword,
    inlineFleetSecret,
    list,
  };
}

/** The base64 body lines of a PEM block (each is 64 characters of key material). */
export function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
}

/**
 * base64 of `value` at each of the three byte alignments, minus the edge characters that mix in
 * neighbouring bytes: found whatever precedes the value inside the encoded string (Basic auth).
 */
export function base64Cores(value: string): string[] {
  const out: string[] = [];
  for (const pad of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(pad, 0x20), Buffer.from(value)]).toString('base64');
    const core = encoded.slice(pad === 0 ? 0 : 4, encoded.length - 4);
    if (core.length >= MIN_FRAGMENT) out.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

/** Every form of one canary worth searching for. */
export function needles(canary: Canary): Needle[] {
  const value = canary.value;
  const out: Needle[] = [];
  const add = (form: string, text: string, caseInsensitive = false) => {
    if (text.length >= MIN_FRAGMENT && !out.some((n) => n.text === text)) out.push({ canary, form, text, caseInsensitive });
  };
  const isPem = value.startsWith('-----BEGIN');
  add('raw', value, true);
  if (!isPem) {
    add('prefix', value.slice(0, 12), true);
    add('suffix', value.slice(-12), true);
  }
  add('url-encoded', encodeURIComponent(value));
  add(
    'url-encoded (lower hex)',
    encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  );
  add('form-encoded', new URLSearchParams({ v: value }).toString().slice(2));
  add('json-escaped', JSON.stringify(value).slice(1, -1));
  add('json-escaped twice', JSON.stringify(JSON.stringify(value)).slice(1, -1));
  for (const core of base64Cores(value)) add('base64', core);
  add('hex', Buffer.from(value).toString('hex'));
  for (const derived of canary.derived ?? []) add('derived', derived);
  return out;
}

/** Searches every capture for every form of every canary. */
export function scan(captures: readonly Capture[], canaries: readonly Canary[]): Leak[] {
  const all = canaries.flatMap(needles);
  const leaks: Leak[] = [];
  for (const capture of captures) {
    const lower = capture.text.toLowerCase();
    for (const needle of all) {
      const at = needle.caseInsensitive ? lower.indexOf(needle.text.toLowerCase()) : capture.text.indexOf(needle.text);
      if (at < 0) continue;
      const before = capture.text.slice(Math.max(0, at - 40), at);
      const after = capture.text.slice(at + needle.text.length, at + needle.text.length + 40);
      leaks.push({
        canary: needle.canary.name,
        secret: needle.canary.secret,
        form: needle.form,
        where: capture.where,
        context: `${before}<${needle.canary.name}:${needle.form}>${after}`,
      });
    }
  }
  return leaks;
}

/** One line per leak, for assertion messages. */
export function describeLeaks(leaks: readonly Leak[]): string {
  return leaks
    .map((l) => `  ${l.secret ? 'SECRET' : 'identifier'} ${l.canary} (${l.form}) in ${l.where}: …${l.context.replace(/\n/g, '\\n')}…`)
    .join('\n');
}

/** An http forwarder recording the request headers a client sent (to prove a canary was live). */
export interface RecordingProxy {
  readonly url: string;
  readonly headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}

/** Forwards every request to `target` (http) unchanged and records its headers. */
export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const headers: IncomingHttpHeaders[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    if (headers.length < 2000) headers.push(req.headers);
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    headers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
