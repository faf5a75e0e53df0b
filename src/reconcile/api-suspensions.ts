/**
 * Groups suspended through the API (POST /api/v1/groups/NAME/suspend), persisted in the state
 * directory so a restart keeps them. They add to Git's `suspend`, never replace it; a missing or
 * corrupt file means nothing is suspended through the API.
 */
import type { DesiredState } from '../contract/fleet.ts';
import { readJsonLenient, writeJsonAtomic } from '../../providers/state-file.ts';

/**
 * Where the daemon keeps the API's suspensions: the state directory (ApiSuspensions) for a lone
 * daemon, etcd under HA (HaSuspensions of ha-suspensions.ts), so one daemon code path serves both.
 */
export interface SuspensionStore {
  /** The suspended groups (status shows who suspended a group). */
  readonly names: ReadonlySet<string>;
  /** Suspends or resumes `group`; rejects when that could not be recorded (nothing changed then). */
  set(group: string, suspended: boolean): Promise<void>;
  /** `state` with the API's suspensions applied on top of Git's. */
  apply(state: DesiredState): DesiredState;
}

/** `state` with every group of `names` suspended (on top of Git's `suspend`, never lifting it). */
export function withSuspensions(state: DesiredState, names: ReadonlySet<string>): DesiredState {
  if (names.size === 0) return state;
  const groups = Object.fromEntries(Object.entries(state.groups).map(([name, g]) => [name, names.has(name) ? { ...g, suspend: true } : g]));
  return { ...state, groups };
}

/** The API's suspensions, kept in `file` (the state directory's suspended.json, StateDir.suspensions). */
export class ApiSuspensions implements SuspensionStore {
  private readonly file: string;
  private readonly groups = new Set<string>();

  constructor(file: string) {
    this.file = file;
  }

  /** The suspended groups (status shows who suspended a group). */
  get names(): ReadonlySet<string> {
    return this.groups;
  }

  async load(): Promise<void> {
    const groups = await readJsonLenient(this.file);
    if (Array.isArray(groups)) for (const group of groups) if (typeof group === 'string') this.groups.add(group);
  }

  /** Suspends or resumes `group` and persists the change. */
  async set(group: string, suspended: boolean): Promise<void> {
    if (suspended) this.groups.add(group);
    else this.groups.delete(group);
    await writeJsonAtomic(this.file, [...this.groups].sort());
  }

  /** `state` with the API's suspensions applied on top of Git's. */
  apply(state: DesiredState): DesiredState {
    return withSuspensions(state, this.groups);
  }
}
