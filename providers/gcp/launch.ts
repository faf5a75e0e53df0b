/**
 * A CreateRequest as a Compute Engine Instance resource: machine type, boot disk from the image
 * (auto-deleted with the instance), extra disks, network or subnetwork, the service account and
 * its scopes, user data (its `${drover.…}` variables filled for this instance) and SSH keys in
 * metadata, and ownership labels + metadata from the first moment.
 */
import { ProviderError } from '../../src/contract/errors.ts';
import type { CreateRequest } from '../../src/contract/provider.ts';
import { launchUserData } from '../../src/contract/user-data.ts';
import { diskLabels, instanceLabels, LABEL, METADATA } from './labels.ts';
import { DEFAULT_SCOPE, scopeUrls } from './scopes.ts';

/** The Instance resource fields drover sends. */
export interface InstanceResource {
  readonly name: string;
  readonly machineType: string;
  readonly labels: Record<string, string>;
  readonly metadata: { readonly items: { readonly key: string; readonly value: string }[] };
  readonly disks: Record<string, unknown>[];
  readonly networkInterfaces: Record<string, unknown>[];
  /** The service account the instance runs as (at most one, as GCE allows), with its scopes. */
  readonly serviceAccounts?: { readonly email: string; readonly scopes: string[] }[];
}

/** Builds the insert body for `name` (a generation's name, see names.ts). */
export function instanceResource(
  request: CreateRequest,
  name: string,
  key: string,
  provider: string,
  fence?: string,
  keySpace?: string,
): InstanceResource {
  const { template, owner, zone } = request;
  const sourceImage = template.artifact.id;
  const machine = template.machine.type;
  if (sourceImage === undefined) throw invalid(provider, 'ArtifactMissing', `group ${owner.group}: no image for provider ${provider}`);
  if (machine === undefined) throw invalid(provider, 'MachineTypeMissing', `group ${owner.group}: machine.type is required on gcp`);
  if (zone === '') throw invalid(provider, 'ZoneMissing', `group ${owner.group}: a zone is required on gcp`);
  return {
    name,
    machineType: `zones/${zone}/machineTypes/${machine}`,
    labels: {
      ...instanceLabels(owner, key, template.tags),
      ...(fence === undefined ? {} : { [LABEL.fence]: fence }),
      ...(fence === undefined || keySpace === undefined ? {} : { [LABEL.keySpace]: keySpace }),
    },
    metadata: { items: metadataItems(request, name, provider) },
    disks: [
      { boot: true, autoDelete: true, initializeParams: { sourceImage, labels: diskLabels(owner) } },
      ...template.disks.map((disk) => ({
        boot: false,
        autoDelete: true,
        initializeParams: {
          diskSizeGb: String(disk.sizeGiB),
          diskType: `zones/${zone}/diskTypes/${disk.type ?? 'pd-balanced'}`,
          labels: diskLabels(owner),
        },
      })),
    ],
    networkInterfaces: [networkInterface(request)],
    ...serviceAccounts(request),
  };
}

/**
 * The instance's identity: the group's service account with its scopes (URLs; the template holds
 * them canonical, an alias is expanded here too for a template from an older state). None: GCE's
 * own default (no account is attached by drover).
 */
function serviceAccounts(request: CreateRequest): Pick<InstanceResource, 'serviceAccounts'> {
  const { serviceAccount, scopes } = request.template.placement;
  if (serviceAccount === undefined) return {};
  return { serviceAccounts: [{ email: serviceAccount, scopes: scopeUrls(scopes ?? [DEFAULT_SCOPE]) }] };
}

function metadataItems(request: CreateRequest, name: string, provider: string): { key: string; value: string }[] {
  const { template, owner } = request;
  const items: { key: string; value: string }[] = [
    { key: METADATA.digest, value: owner.imageDigest },
    { key: METADATA.revision, value: owner.revision },
  ];
  const userData = launchUserData(request, provider, name);
  if (userData !== undefined) items.push({ key: 'user-data', value: userData });
  const keys = template.placement.sshKeys ?? [];
  if (keys.length > 0) {
    const user = template.placement.sshUser ?? 'drover';
    items.push({ key: 'ssh-keys', value: keys.map((k) => `${user}:${k.trim()}`).join('\n') });
  }
  return items;
}

function networkInterface(request: CreateRequest): Record<string, unknown> {
  const { network, subnet } = request.template.placement;
  if (network === undefined && subnet === undefined) return { network: 'global/networks/default' };
  return { ...(network === undefined ? {} : { network }), ...(subnet === undefined ? {} : { subnetwork: subnet }) };
}

function invalid(provider: string, reason: string, message: string): ProviderError {
  return new ProviderError({ kind: 'Invalid', reason, provider, operation: 'create', message });
}

/**
 * The refusal of a slot whose name an instance of another fleet holds (names do not carry the fleet
 * id), naming the instance and its fleet and saying what to do.
 */
export function nameTaken(
  provider: string,
  fleet: string,
  request: CreateRequest,
  instance: { readonly name?: string | null; readonly labels?: Record<string, string> | null },
): ProviderError {
  const { slot, group } = request.owner;
  return new ProviderError({
    kind: 'Conflict',
    reason: 'NameTakenByAnotherFleet',
    provider,
    operation: 'create',
    message:
      `slot ${slot} of ${group}: instance ${instance.name ?? request.name} in ${request.zone} holds its name but carries ` +
      `${LABEL.fleet}=${instance.labels?.[LABEL.fleet] ?? ''}, not ${fleet}; drover launches nothing for this slot. ` +
      'If the fleet id (Fleet metadata.name) changed, restore it or delete the old instances; ' +
      'if two fleets share the project, rename one of the groups',
  });
}
