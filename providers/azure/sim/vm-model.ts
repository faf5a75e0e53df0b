/**
 * Validation of a VM PUT body the way Compute does it: name, location, size, image reference,
 * zones, OS profile authentication, disks, the network interface and the identity, with ARM's
 * error codes.
 * A valid body becomes the stored model the simulator renders back.
 */
import { ArmSimError, parseJsonBody, rec, recs, str, validateTags } from './arm.ts';
import { ZONES, type AzureContext } from './context.ts';
import { validateIdentity, type IdentityRecord } from './identity.ts';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9_]$|^[a-zA-Z0-9]$/;
const SIZE = /^(Standard|Basic)_[A-Za-z0-9]+(_[A-Za-z0-9]+)*$/;
const STORAGE_TYPES = new Set([
  'Standard_LRS',
  'Premium_LRS',
  'StandardSSD_LRS',
  'UltraSSD_LRS',
  'Premium_ZRS',
  'StandardSSD_ZRS',
  'PremiumV2_LRS',
]);
const DELETE_OPTIONS = new Set(['Delete', 'Detach']);

/** A validated VM model as the simulator stores it. */
export interface VmModel {
  readonly tags: Record<string, string>;
  readonly zone: string;
  readonly size: string;
  readonly imageId: string;
  readonly nicId: string;
  readonly nicDeleteOption: 'Delete' | 'Detach';
  /** The body's properties with secrets removed, as rendered back. */
  readonly properties: Record<string, unknown>;
  /** The VM's identity block, when the body has one. */
  readonly identity: IdentityRecord | undefined;
  /** osProfile.customData as sent (base64): kept, never rendered back (ARM does not return it). */
  readonly customData: string | undefined;
}

/** Validates a VM name (Linux rules: 1–64 of letters, digits, '-', '_', '.'). */
export function validateVmName(name: string): void {
  if (!NAME.test(name))
    throw new ArmSimError(400, 'InvalidParameter', `The entity name '${name}' is invalid according to its validation rule.`, {
      target: 'vmName',
    });
}

/** Parses and validates a VM PUT body. */
export function validateVm(ctx: AzureContext, body: string): VmModel {
  const input = parseJsonBody(body);
  const location = str(input['location']);
  if (location === undefined) throw new ArmSimError(400, 'LocationRequired', 'The location property is required for this definition.');
  if (location.toLowerCase().replaceAll(' ', '') !== ctx.location)
    throw new ArmSimError(400, 'InvalidResourceLocation', `The resource location '${location}' does not match '${ctx.location}'.`);
  const tags = validateTags(input['tags']);
  const props = rec(input['properties']);
  const size = validateSize(ctx, str(rec(props['hardwareProfile'])['vmSize']), zoneOf(input));
  const storage = validateStorage(ctx, rec(props['storageProfile']));
  validateOsProfile(rec(props['osProfile']));
  const nic = validateNetwork(rec(props['networkProfile']));
  const identity = validateIdentity(input['identity'], `/subscriptions/${ctx.subscriptionId}`, ctx.settings.managedIdentities);
  const osProfile = { ...rec(props['osProfile']) };
  const customData = str(osProfile['customData']);
  delete osProfile['adminPassword'];
  delete osProfile['customData'];
  const properties = { ...props, osProfile, storageProfile: storage.profile };
  return {
    tags,
    zone: zoneOf(input),
    size,
    imageId: storage.imageId,
    nicId: nic.id,
    nicDeleteOption: nic.deleteOption,
    properties,
    identity,
    customData,
  };
}

function zoneOf(input: Record<string, unknown>): string {
  const zones = input['zones'];
  if (zones === undefined) return '';
  if (!Array.isArray(zones) || zones.length !== 1 || typeof zones[0] !== 'string' || !ZONES.includes(zones[0])) {
    throw new ArmSimError(
      400,
      'InvalidParameter',
      `The requested zones '${JSON.stringify(zones)}' are not valid. Valid zones: ${ZONES.join(', ')}.`,
      { target: 'zones' },
    );
  }
  return zones[0];
}

function validateSize(ctx: AzureContext, size: string | undefined, zone: string): string {
  if (size === undefined)
    throw new ArmSimError(400, 'InvalidParameter', "Required parameter 'hardwareProfile.vmSize' is missing (null).", {
      target: 'hardwareProfile.vmSize',
    });
  if (!SIZE.test(size))
    throw new ArmSimError(400, 'InvalidParameter', `The value ${size} provided for the VM size is not valid.`, { target: 'vmSize' });
  if (ctx.settings.unavailableSizes[zone]?.includes(size) === true) {
    throw new ArmSimError(
      409,
      'SkuNotAvailable',
      `The requested VM size '${size}' is currently not available in location '${ctx.location}'${zone === '' ? '' : ` zone '${zone}'`}.`,
    );
  }
  return size;
}

function validateStorage(ctx: AzureContext, storage: Record<string, unknown>): { imageId: string; profile: Record<string, unknown> } {
  const imageId = str(rec(storage['imageReference'])['id']);
  if (imageId === undefined)
    throw new ArmSimError(400, 'InvalidParameter', "Required parameter 'imageReference' is missing (null).", { target: 'imageReference' });
  const image = ctx.images.get(imageId);
  if (image === undefined) throw new ArmSimError(404, 'NotFound', `The Image '${imageId}' cannot be found in '${ctx.location}' region.`);
  if (image.provisioningState !== 'Succeeded')
    throw new ArmSimError(409, 'ImageNotReady', `The image ${imageId} is in state ${image.provisioningState}.`);
  const osDisk = rec(storage['osDisk']);
  checkDisk(osDisk, 'osDisk');
  const dataDisks = recs(storage['dataDisks']);
  const luns = new Set<number>();
  dataDisks.forEach((disk, i) => {
    checkDisk(disk, `dataDisks[${i}]`);
    const lun = disk['lun'];
    if (typeof lun !== 'number' || !Number.isInteger(lun) || lun < 0 || lun > 63 || luns.has(lun)) {
      throw new ArmSimError(400, 'InvalidParameter', `The lun of data disk ${i} must be a unique integer in 0..63.`, {
        target: `dataDisks[${i}].lun`,
      });
    }
    luns.add(lun);
    const size = disk['diskSizeGB'];
    if (disk['createOption'] === 'Empty' && (typeof size !== 'number' || size < 1 || size > 32767)) {
      throw new ArmSimError(400, 'InvalidParameter', `Disk size of data disk ${i} must be in 1..32767 GB.`, {
        target: `dataDisks[${i}].diskSizeGB`,
      });
    }
  });
  return { imageId, profile: { ...storage, osDisk: { osType: 'Linux', caching: 'ReadWrite', ...osDisk }, dataDisks } };
}

function checkDisk(disk: Record<string, unknown>, target: string): void {
  const type = str(rec(disk['managedDisk'])['storageAccountType']);
  if (type !== undefined && !STORAGE_TYPES.has(type))
    throw new ArmSimError(400, 'InvalidParameter', `Storage account type '${type}' is not supported.`, {
      target: `${target}.managedDisk.storageAccountType`,
    });
  const option = disk['deleteOption'];
  if (option !== undefined && (typeof option !== 'string' || !DELETE_OPTIONS.has(option)))
    throw new ArmSimError(400, 'InvalidParameter', `deleteOption '${String(option)}' is not valid.`, { target: `${target}.deleteOption` });
}

function validateOsProfile(os: Record<string, unknown>): void {
  if (Object.keys(os).length === 0) return; // specialized image: no OS profile
  const name = str(os['computerName']);
  if (name === undefined || name.length > 64)
    throw new ArmSimError(400, 'InvalidParameter', 'computerName is required and at most 64 characters for Linux.', {
      target: 'osProfile.computerName',
    });
  if (str(os['adminUsername']) === undefined)
    throw new ArmSimError(400, 'InvalidParameter', "Required parameter 'adminUsername' is missing (null).", {
      target: 'osProfile.adminUsername',
    });
  const linux = rec(os['linuxConfiguration']);
  const keys = recs(rec(linux['ssh'])['publicKeys']);
  if (linux['disablePasswordAuthentication'] === true && keys.length === 0) {
    throw new ArmSimError(
      400,
      'InvalidParameter',
      'Authentication using either SSH or by user name and password must be enabled in Linux profile.',
      { target: 'linuxConfiguration' },
    );
  }
  if (linux['disablePasswordAuthentication'] !== true && str(os['adminPassword']) === undefined && keys.length === 0) {
    throw new ArmSimError(400, 'InvalidParameter', "Required parameter 'adminPassword' is missing (null).", { target: 'adminPassword' });
  }
  const customData = os['customData'];
  if (
    customData !== undefined &&
    (typeof customData !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(customData) || customData.length > 87_380)
  ) {
    throw new ArmSimError(400, 'InvalidParameter', 'Custom data must be base64 and at most 64 KB decoded.', { target: 'customData' });
  }
}

function validateNetwork(network: Record<string, unknown>): { id: string; deleteOption: 'Delete' | 'Detach' } {
  const nics = recs(network['networkInterfaces']);
  if (nics.length !== 1)
    throw new ArmSimError(400, 'InvalidParameter', 'The simulator supports exactly one network interface per VM.', {
      target: 'networkProfile.networkInterfaces',
    });
  const nic = nics[0] ?? {};
  const id = str(nic['id']);
  if (id === undefined)
    throw new ArmSimError(400, 'InvalidParameter', 'Network interface id is required.', {
      target: 'networkProfile.networkInterfaces[0].id',
    });
  const option = rec(nic['properties'])['deleteOption'] ?? 'Detach';
  if (option !== 'Delete' && option !== 'Detach')
    throw new ArmSimError(400, 'InvalidParameter', `deleteOption '${String(option)}' is not valid.`, {
      target: 'networkInterfaces[0].deleteOption',
    });
  return { id, deleteOption: option };
}
