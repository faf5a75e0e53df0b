/**
 * AMIs of the simulated account, and DescribeImages. Tags carry whatever the image pipeline put
 * there (drover reads its digest from one of them).
 */
import type { SimResponse } from '../../../src/sim/engine.ts';
import { ControlError } from '../../../src/sim/control.ts';
import { isEc2Id, newEc2Id, type Ec2Context } from './context.ts';
import { filterMatches, readFilters, type Filter, type QueryParams } from './query.ts';
import { Ec2SimError, okResponse, tagSet, type XmlNode } from './xml.ts';

/** An AMI. */
export interface SimImage {
  readonly id: string;
  readonly name: string;
  readonly state: 'available' | 'pending' | 'failed' | 'deregistered';
  readonly tags: Readonly<Record<string, string>>;
  readonly ownerId: string;
  readonly createdAt: number;
}

/** What registering an image takes. */
export interface ImageInput {
  readonly id?: string;
  readonly name?: string;
  readonly state?: SimImage['state'];
  readonly tags?: Readonly<Record<string, string>>;
}

/** The account's images. */
export class ImageStore {
  readonly #ownerId: string;
  #images = new Map<string, SimImage>();

  constructor(ownerId: string) {
    this.#ownerId = ownerId;
  }

  /** Registers (or replaces) an image; returns it. */
  put(input: ImageInput, now: number): SimImage {
    const id = input.id ?? newEc2Id('ami');
    if (!isEc2Id('ami', id)) throw new ControlError(400, `malformed image id ${id}`);
    const image: SimImage = {
      id,
      name: input.name ?? id,
      state: input.state ?? 'available',
      tags: { ...input.tags },
      ownerId: this.#ownerId,
      createdAt: now,
    };
    this.#images.set(id, image);
    return image;
  }

  get(id: string): SimImage | undefined {
    return this.#images.get(id);
  }

  delete(id: string): void {
    this.#images.delete(id);
  }

  /** Merges tags into an image. */
  tag(id: string, tags: Readonly<Record<string, string>>): void {
    const image = this.#images.get(id);
    if (image !== undefined) this.#images.set(id, { ...image, tags: { ...image.tags, ...tags } });
  }

  all(): SimImage[] {
    return [...this.#images.values()];
  }

  clear(): void {
    this.#images = new Map();
  }
}

const IMAGE_FILTERS: Readonly<Record<string, (image: SimImage) => readonly string[]>> = {
  'image-id': (i) => [i.id],
  name: (i) => [i.name],
  state: (i) => [i.state],
  'owner-id': (i) => [i.ownerId],
  'tag-key': (i) => Object.keys(i.tags),
  'tag-value': (i) => Object.values(i.tags),
};

function imageMatches(image: SimImage, filter: Filter): boolean {
  const values = filter.name.startsWith('tag:') ? tagValues(image.tags, filter.name.slice(4)) : IMAGE_FILTERS[filter.name]?.(image);
  if (values === undefined) throw new Ec2SimError('InvalidParameterValue', `The filter '${filter.name}' is invalid`);
  return filter.values.some((p) => values.some((v) => filterMatches(p, v)));
}

function tagValues(tags: Readonly<Record<string, string>>, key: string): string[] {
  const value = tags[key];
  return value === undefined ? [] : [value];
}

/** DescribeImages: ImageId.N (each must exist), Owner.N, Filter.N. */
export function describeImages(ctx: Ec2Context, params: QueryParams): SimResponse {
  params.allowOnly(
    ['Action', 'Version', 'DryRun', 'IncludeDeprecated', 'IncludeDisabled', 'MaxResults', 'NextToken'],
    ['ImageId', 'Owner', 'ExecutableBy', 'Filter'],
  );
  const ids = params.list('ImageId');
  for (const id of ids) {
    if (!isEc2Id('ami', id)) throw new Ec2SimError('InvalidAMIID.Malformed', `Invalid id: "${id}"`);
  }
  const missing = ids.filter((id) => (ctx.images.get(id)?.state ?? 'deregistered') === 'deregistered');
  if (missing.length > 0) throw new Ec2SimError('InvalidAMIID.NotFound', `The image id '[${missing.join(', ')}]' does not exist`);
  const owners = params.list('Owner').map((o) => (o === 'self' ? ctx.ownerId : o));
  const filters = readFilters(params);
  const images = (ids.length > 0 ? ids.map((id) => ctx.images.get(id)) : ctx.images.all())
    .filter((i): i is SimImage => i !== undefined && i.state !== 'deregistered')
    .filter((i) => owners.length === 0 || owners.includes(i.ownerId))
    .filter((i) => filters.every((f) => imageMatches(i, f)));
  return okResponse('DescribeImages', { imagesSet: images.map(imageXml) });
}

function imageXml(image: SimImage): XmlNode {
  return {
    imageId: image.id,
    imageLocation: `${image.ownerId}/${image.name}`,
    imageState: image.state,
    imageOwnerId: image.ownerId,
    creationDate: new Date(image.createdAt).toISOString(),
    isPublic: false,
    architecture: 'x86_64',
    imageType: 'machine',
    name: image.name,
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    blockDeviceMapping: [],
    virtualizationType: 'hvm',
    tagSet: tagSet(image.tags),
    hypervisor: 'xen',
  };
}
