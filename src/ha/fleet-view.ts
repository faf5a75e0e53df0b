/**
 * The fleet as this replica's watch and reads show it: every lane key (holder, token, lease),
 * every summary, every live replica, every group suspended through the API. Fed by full snapshots (start, and the periodic confirmation
 * read) and by watch events; never goes back in revision, so a late read cannot undo a newer event.
 */
import type { IKeyValue } from 'etcd3';

import type { ApiSuspension, LaneView, PublishedSummary } from './coordinator.ts';
import type { FleetKey, FleetKeys } from './keys.ts';

/** A lane's campaign key. */
export interface LaneKey {
  readonly replica: string;
  /** ISO time the holder took it (from the key's value). */
  readonly since: string;
  /** Its create revision: the fencing token. */
  readonly token: string;
  readonly lease: string;
}

/** The value of a lane key. */
export interface LaneKeyValue {
  readonly replica: string;
  readonly since: string;
}

/** Parses a lane key's value; undefined when it is not ours to read. */
export function parseLaneValue(value: Buffer): LaneKeyValue | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<LaneKeyValue>;
    if (typeof parsed.replica !== 'string') return undefined;
    return { replica: parsed.replica, since: typeof parsed.since === 'string' ? parsed.since : '' };
  } catch {
    return undefined;
  }
}

function parseSummary(value: Buffer): PublishedSummary | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as PublishedSummary;
    return typeof parsed.replica === 'string' && typeof parsed.token === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The `source` a membership value carries, if any. */
function parseReplicaSource(value: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { source?: unknown };
    return typeof parsed.source === 'string' ? parsed.source : undefined;
  } catch {
    return undefined;
  }
}

/** Parses a suspension key's value; a foreign or damaged value still suspends (by an unknown replica). */
function parseSuspension(value: Buffer): ApiSuspension {
  try {
    const parsed = JSON.parse(value.toString('utf8')) as Partial<ApiSuspension>;
    return { by: typeof parsed.by === 'string' ? parsed.by : '', at: typeof parsed.at === 'string' ? parsed.at : '' };
  } catch {
    return { by: '', at: '' };
  }
}

/** The fleet's keys, current as of `revision`. */
export class FleetView {
  readonly lanes = new Map<string, LaneKey>();
  readonly summaries = new Map<string, PublishedSummary>();
  /** The mod revision of each summary key (to delete a leftover only if unchanged). */
  readonly summaryRevisions = new Map<string, string>();
  readonly replicas = new Set<string>();
  /** The source hash each live replica published (those that published one). */
  readonly replicaSources = new Map<string, string>();
  /** Groups suspended through the API, by group. */
  readonly suspensions = new Map<string, ApiSuspension>();
  /** The newest revision applied to lanes, replicas and suspensions. */
  revision = 0;
  /** The newest revision applied to summaries. */
  private summaryRevision = 0;
  private readonly keys: FleetKeys;

  constructor(keys: FleetKeys) {
    this.keys = keys;
  }

  /**
   * Replaces lanes and replicas (summaries and suspensions too when given) with a snapshot. A
   * snapshot that leaves suspensions out must not be newer than their last one (only the periodic
   * read's own lane view, never applied here, does).
   */
  applySnapshot(
    revision: number,
    lanes: readonly IKeyValue[],
    replicas: readonly IKeyValue[],
    summaries?: readonly IKeyValue[],
    suspensions?: readonly IKeyValue[],
  ): boolean {
    if (revision < this.revision) return false;
    this.revision = revision;
    this.lanes.clear();
    this.replicas.clear();
    this.replicaSources.clear();
    if (summaries !== undefined) {
      this.summaries.clear();
      this.summaryRevisions.clear();
      this.summaryRevision = revision;
    }
    if (suspensions !== undefined) this.suspensions.clear();
    for (const kv of [...lanes, ...replicas, ...(summaries ?? []), ...(suspensions ?? [])]) this.set(kv);
    return true;
  }

  /**
   * Applies a watch event; returns what the key is, or undefined when it was stale or foreign.
   * Summaries are in no periodic snapshot, so only their own events order them.
   */
  applyEvent(kind: 'put' | 'delete', kv: IKeyValue): FleetKey | undefined {
    const revision = Number(kv.mod_revision);
    const parsed = this.keys.parse(kv.key.toString('utf8'));
    if (parsed === undefined || parsed.kind === 'trigger' || parsed.kind === 'fleet') return undefined;
    if (parsed.kind === 'summary') {
      if (revision <= this.summaryRevision) return undefined;
      this.summaryRevision = revision;
    } else {
      if (revision <= this.revision) return undefined;
      this.revision = revision;
    }
    if (kind === 'put') return this.set(kv);
    if (parsed.kind === 'lane') this.lanes.delete(parsed.name);
    if (parsed.kind === 'replica') {
      this.replicas.delete(parsed.name);
      this.replicaSources.delete(parsed.name);
    }
    if (parsed.kind === 'summary') {
      this.summaries.delete(parsed.name);
      this.summaryRevisions.delete(parsed.name);
    }
    if (parsed.kind === 'suspension') this.suspensions.delete(parsed.name);
    return parsed;
  }

  /** Holder replica of every lane with a key. */
  holders(): Map<string, string> {
    return new Map([...this.lanes].map(([lane, key]) => [lane, key.replica]));
  }

  /**
   * Every lane of `desired` (the current revision's) and every lane with a key (held), with holder
   * and summary; a summary of a lane in neither (a removed Provider's leftover) is not shown.
   */
  view(desired: readonly string[]): LaneView[] {
    const names = new Set([...desired, ...this.lanes.keys()]);
    return [...names].sort().map((lane) => {
      const key = this.lanes.get(lane);
      const summary = this.summaries.get(lane);
      return {
        lane,
        ...(key === undefined ? {} : { holder: { replica: key.replica, token: key.token, since: key.since } }),
        ...(summary === undefined ? {} : { summary }),
      };
    });
  }

  private set(kv: IKeyValue): FleetKey | undefined {
    const parsed = this.keys.parse(kv.key.toString('utf8'));
    if (parsed === undefined || parsed.kind === 'trigger' || parsed.kind === 'fleet') return parsed;
    if (parsed.kind === 'replica') {
      this.replicas.add(parsed.name);
      const source = parseReplicaSource(kv.value);
      if (source === undefined) this.replicaSources.delete(parsed.name);
      else this.replicaSources.set(parsed.name, source);
    }
    if (parsed.kind === 'suspension') this.suspensions.set(parsed.name, parseSuspension(kv.value));
    if (parsed.kind === 'lane') {
      const value = parseLaneValue(kv.value);
      if (value === undefined) this.lanes.delete(parsed.name);
      else this.lanes.set(parsed.name, { ...value, token: kv.create_revision, lease: kv.lease });
    }
    if (parsed.kind === 'summary') {
      const summary = parseSummary(kv.value);
      if (summary === undefined) this.summaries.delete(parsed.name);
      else this.summaries.set(parsed.name, summary);
      if (summary === undefined) this.summaryRevisions.delete(parsed.name);
      else this.summaryRevisions.set(parsed.name, kv.mod_revision);
    }
    return parsed;
  }
}
