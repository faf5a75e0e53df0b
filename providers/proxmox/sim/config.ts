/**
 * VM config updates (`PUT` sync / `POST` async `/nodes/{node}/qemu/{vmid}/config`) with PVE's
 * parameter formats: tags (see tags.ts), description ≤ 8 KiB, cloud-init (`ciuser`, `sshkeys`
 * URL-encoded, `ipconfigN`, `cicustom` snippet volumes), cores/memory (pending while running),
 * `netN`, new disks `scsiN=STORAGE:SIZE`, and `delete`. A locked VM refuses every change.
 */
import type { SimInstance } from '../../../src/sim/world.ts';
import { configOf, lockOf, pveStatus, type PveContext } from './context.ts';
import { parseTagList, replaceTagsPatch, tagsToRecord } from './tags.ts';
import { paramError, PveSimError, type Params } from './wire.ts';

/** Largest description PVE accepts. */
export const MAX_DESCRIPTION = 8192;

const PLAIN = new Set(['name', 'description', 'ciuser', 'cipassword', 'searchdomain', 'nameserver', 'onboot', 'agent', 'citype']);
const KEYS = new Set([
  ...PLAIN,
  'tags',
  'sshkeys',
  'cicustom',
  'cores',
  'sockets',
  'memory',
  'delete',
  'digest',
  'skiplock',
  'background_delay',
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((n) => `ipconfig${n}`),
  ...[0, 1, 2, 3].map((n) => `net${n}`),
  ...Array.from({ length: 30 }, (_, n) => `scsi${n}`),
]);
const URLENCODED = /^[-%a-zA-Z0-9_.!~*'()]*$/;
const SSH_KEY = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/;
const IPCONFIG = /^(ip=(dhcp|[0-9.]+\/\d{1,2})(,gw=[0-9.]+)?)?(,?ip6=(dhcp|auto|[0-9a-f:]+\/\d{1,3})(,gw6=[0-9a-f:]+)?)?$/i;
const DNSNAME = /^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;
const NET = /^(virtio|e1000|rtl8139|vmxnet3)(=[0-9A-Fa-f:]{17})?(,bridge=[A-Za-z0-9_.-]+)?(,[a-z_]+=[^,]+)*$/;
/** Keys that only take effect at the next boot when changed on a running VM. */
const HOTPLUG_PENDING = new Set(['cores', 'sockets', 'memory']);

/** Validates a config update and returns the changes to apply (`undefined` value = delete). */
export function validateConfig(ctx: PveContext, vmid: number, params: Params): Map<string, string | undefined> {
  params.allowOnly(new Set([...KEYS, 'node', 'vmid']));
  if (params.bool('skiplock') === true) throw new PveSimError(403, 'Permission check failed (skiplock: only root@pam may use this option)');
  const changes = new Map<string, string | undefined>();
  const errors: Record<string, string> = {};
  for (const key of params.names()) {
    if (key === 'node' || key === 'vmid' || key === 'digest' || key === 'skiplock' || key === 'background_delay') continue;
    const value = params.get(key) ?? '';
    const problem = checkValue(ctx, key, value);
    if (problem !== undefined) errors[key] = problem;
    else if (key === 'delete') for (const name of value.split(/[,; ]+/).filter((n) => n !== '')) changes.set(name, undefined);
    else changes.set(key, key === 'tags' ? parseTagList(value).join(';') : normalize(vmid, key, value));
  }
  if (Object.keys(errors).length > 0) throw paramError(errors);
  if (changes.size === 0) throw new PveSimError(400, 'no options specified');
  return changes;
}

function checkValue(ctx: PveContext, key: string, value: string): string | undefined {
  switch (key) {
    case 'name':
      return DNSNAME.test(value) ? undefined : `value does not match the regex pattern`;
    case 'description':
      return value.length > MAX_DESCRIPTION ? `value may only be ${MAX_DESCRIPTION} characters long` : undefined;
    case 'sshkeys':
      return checkSshKeys(value);
    case 'cicustom':
      return checkCicustom(ctx, value);
    case 'cores':
    case 'sockets':
      return /^\d+$/.test(value) && Number(value) >= 1 ? undefined : `type check ('integer') failed - got '${value}'`;
    case 'memory':
      return /^\d+$/.test(value) && Number(value) >= 16 ? undefined : `value must have a minimum value of 16`;
    case 'tags':
      parseTagList(value);
      return undefined;
    default:
      if (/^ipconfig\d$/.test(key)) return IPCONFIG.test(value) ? undefined : `invalid format - format error`;
      if (/^net\d$/.test(key)) return NET.test(value) ? undefined : `invalid format - format error`;
      if (/^scsi\d+$/.test(key)) return checkDisk(ctx, value);
      return undefined;
  }
}

function checkSshKeys(value: string): string | undefined {
  if (!URLENCODED.test(value)) return 'invalid urlencoded string';
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    return 'invalid urlencoded string';
  }
  for (const line of decoded
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))) {
    if (!SSH_KEY.test(line)) return 'unable to parse ssh key';
  }
  return undefined;
}

function checkCicustom(ctx: PveContext, value: string): string | undefined {
  for (const part of value.split(',')) {
    const match = /^(user|network|meta|vendor)=([A-Za-z][-A-Za-z0-9_.]*):(snippets\/[^,]+)$/.exec(part);
    if (match === null) return 'invalid format - format error';
    if (!ctx.storages.has(match[2]!)) return `storage '${match[2]!}' does not exist`;
  }
  return undefined;
}

function checkDisk(ctx: PveContext, value: string): string | undefined {
  const match = /^([A-Za-z][-A-Za-z0-9_.]*):(\d+)(,.*)?$/.exec(value);
  if (match === null) return 'invalid format - format error';
  return ctx.storages.has(match[1]!) ? undefined : `storage '${match[1]!}' does not exist`;
}

function normalize(vmid: number, key: string, value: string): string {
  const disk = /^scsi(\d+)$/.exec(key);
  if (disk === null) return value;
  const [storage, size] = value.split(/[:,]/);
  return `${storage}:vm-${vmid}-disk-${disk[1]},size=${size}G`;
}

/** Applies validated changes to a VM (config, tags in the world, pending keys on a running VM). */
export function applyConfig(ctx: PveContext, vm: SimInstance, changes: ReadonlyMap<string, string | undefined>): void {
  const lock = lockOf(vm);
  if (lock !== undefined) throw new PveSimError(500, `VM is locked (${lock})`);
  const config = configOf(vm);
  const pending: Record<string, string | number> = { ...(vm.attributes['pending'] as Record<string, string | number> | undefined) };
  const running = pveStatus(vm) === 'running';
  for (const [key, value] of changes) {
    if (key === 'tags') {
      ctx.engine.world.setTags(vm.id, replaceTagsPatch(vm.tags, tagsToRecord(value === undefined || value === '' ? [] : value.split(';'))));
      continue;
    }
    const typed = value !== undefined && /^\d+$/.test(value) && HOTPLUG_PENDING.has(key) ? Number(value) : value;
    if (running && HOTPLUG_PENDING.has(key) && typed !== undefined) pending[key] = typed;
    else if (typed === undefined) delete config[key];
    else config[key] = typed;
  }
  ctx.engine.world.setAttributes(vm.id, { config, pending });
}
