/**
 * The `ha` section as the coordinator takes it (HaSettings of src/ha/coordinator.ts): its files
 * (etcd's CA, the client certificate and key, the password) read once at start, so an unreadable
 * one stops `drover run` before it acts, naming the setting. The fleet id joins later: it comes
 * from the first valid revision.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { shownPath } from '../contract/shown-path.ts';
import type { HaSettings } from '../ha/coordinator.ts';
import { tlsProblem } from './ha-tls-check.ts';
import type { HaConfig } from './types.ts';

/** Why a file the `ha` section names cannot be used. */
export type HaFileProblem = 'unreadable' | 'empty' | 'invalid';

/** A file of the `ha` section that cannot be used; `setting` is its config path (`ha.etcd.keyFile`). */
export class HaFileError extends Error {
  override readonly name = 'HaFileError';
  readonly reason: HaFileProblem;
  readonly setting: string;

  constructor(reason: HaFileProblem, setting: string, message: string) {
    super(message);
    this.reason = reason;
    this.setting = setting;
  }
}

/** HaSettings less the fleet id: what the replica knows before its first revision. */
export type HaStart = Omit<HaSettings, 'fleet'>;

/** Reads the `ha` section's files and fills the defaults; rejects with {@link HaFileError}. */
export async function readHaSettings(ha: HaConfig, pid = process.pid): Promise<HaStart> {
  const caPem = await pem('caFile', ha.caFile);
  const certPem = await pem('certFile', ha.certFile);
  const keyPem = await pem('keyFile', ha.keyFile);
  const bad = tlsProblem(caPem, certPem, keyPem);
  if (bad !== undefined) {
    const setting = `ha.etcd.${bad.field}`;
    const file = ha[bad.field] ?? '';
    throw new HaFileError('invalid', setting, `${setting} ${shownPath(file)} ${bad.problem}`);
  }
  const password = ha.passwordFile === undefined ? undefined : (await pem('passwordFile', ha.passwordFile))?.trim();
  if (password === '') throw empty('passwordFile', ha.passwordFile!);
  const tls =
    caPem === undefined && certPem === undefined
      ? undefined
      : {
          caPem: caPem ?? '',
          ...(certPem === undefined ? {} : { certPem }),
          ...(keyPem === undefined ? {} : { keyPem }),
        };
  return {
    endpoints: ha.endpoints,
    prefix: ha.prefix,
    replicaId: ha.replicaId ?? defaultReplicaId(pid),
    leaseTtlMs: ha.leaseTtlMs,
    fenceWindowMs: ha.fenceWindowMs,
    ...(tls === undefined ? {} : { tls }),
    ...(ha.username === undefined || password === undefined
      ? {}
      : { auth: { username: ha.username, password, passwordFile: ha.passwordFile! } }),
  };
}

/** `<hostname>-<pid>-<random>`: unique per process, readable in status. */
export function defaultReplicaId(pid = process.pid): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '-')
      .slice(0, 40) || 'host';
  return `${host}-${pid}-${randomBytes(3).toString('hex')}`;
}

async function pem(field: string, file: string | undefined): Promise<string | undefined> {
  if (file === undefined) return undefined;
  const setting = `ha.etcd.${field}`;
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new HaFileError(
      'unreadable',
      setting,
      `${setting} ${shownPath(file)} cannot be read (${error.code ?? 'EIO'}); point it at a readable file outside the state directory`,
    );
  });
  if (text.trim() === '') throw empty(field, file);
  return text;
}

function empty(field: string, file: string): HaFileError {
  return new HaFileError('empty', `ha.etcd.${field}`, `ha.etcd.${field} ${shownPath(file)} is empty`);
}
