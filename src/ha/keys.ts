/**
 * The key layout of one fleet in etcd, under the operator's `<prefix>/` alone (nothing Git says is
 * part of a key, so a commit cannot open a second key space): `fleet` (the fleet id the prefix
 * belongs to, no lease), `replicas/<id>` (membership, on the replica's lease), `lanes/<provider>`
 * (the campaign key, on the lane's own lease; its create revision is the fencing token),
 * `summaries/<provider>` (no lease), `suspensions/<group>` (API suspensions, no lease),
 * `records/<provider>/<name>` (a lane's journals, no lease) and `trigger`.
 */

/** What a key under the fleet root is. */
export type FleetKey =
  { readonly kind: 'replica' | 'lane' | 'summary' | 'suspension'; readonly name: string } | { readonly kind: 'trigger' | 'fleet' };

/** Builds and parses the keys of one fleet. */
export class FleetKeys {
  /** `<prefix>/`, always ending in one slash. */
  readonly root: string;

  constructor(prefix: string) {
    const trimmed = prefix.replace(/\/+$/, '');
    this.root = `${trimmed}/`;
  }

  /** The fleet id this prefix belongs to (created once by the first replica). */
  get fleet(): string {
    return `${this.root}fleet`;
  }

  replica(id: string): string {
    return `${this.root}replicas/${id}`;
  }

  lane(lane: string): string {
    return `${this.root}lanes/${lane}`;
  }

  summary(lane: string): string {
    return `${this.root}summaries/${lane}`;
  }

  /** Where every lane's records live: `<prefix>/records/`. */
  recordsRoot(): string {
    return `${this.root}records/`;
  }

  /** Every record of `lane`: `<prefix>/records/<lane>/`. */
  records(lane: string): string {
    return `${this.root}records/${lane}/`;
  }

  /**
   * A provider lane's private record `name` (its journal, ProviderContext.records): no lease,
   * written only by a txn that requires the lane key's create revision to be the writer's token.
   */
  record(lane: string, name: string): string {
    return `${this.root}records/${lane}/${name}`;
  }

  /** A group suspended through the API (any replica's). */
  suspension(group: string): string {
    return `${this.root}suspensions/${group}`;
  }

  get trigger(): string {
    return `${this.root}trigger`;
  }

  get lanesPrefix(): string {
    return `${this.root}lanes/`;
  }

  get replicasPrefix(): string {
    return `${this.root}replicas/`;
  }

  get suspensionsPrefix(): string {
    return `${this.root}suspensions/`;
  }

  /** What `key` is, or undefined for a key this code does not own. */
  parse(key: string): FleetKey | undefined {
    if (!key.startsWith(this.root)) return undefined;
    const rest = key.slice(this.root.length);
    if (rest === 'trigger') return { kind: 'trigger' };
    if (rest === 'fleet') return { kind: 'fleet' };
    const slash = rest.indexOf('/');
    if (slash < 0) return undefined;
    const name = rest.slice(slash + 1);
    if (name === '') return undefined;
    const kinds: Record<string, 'replica' | 'lane' | 'summary' | 'suspension'> = {
      replicas: 'replica',
      lanes: 'lane',
      summaries: 'summary',
      suspensions: 'suspension',
    };
    const kind = kinds[rest.slice(0, slash)];
    return kind === undefined ? undefined : { kind, name };
  }
}

/** The exclusive end of the key range that starts with `prefix` (etcd's `range_end`). */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if ((bytes[i] as number) < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = (bytes[i] as number) + 1;
      return end;
    }
  }
  return Buffer.from([0]);
}
