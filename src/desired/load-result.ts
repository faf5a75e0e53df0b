/** The outcome of loading one fleet directory. */
import type { Problem } from './problems.ts';
import type { DesiredState } from '../contract/fleet.ts';

/** Either a valid, frozen desired state, or every problem found. */
export type LoadResult =
  | { readonly ok: true; readonly state: DesiredState; readonly files: number; readonly documents: number }
  | { readonly ok: false; readonly problems: readonly Problem[]; readonly files: number; readonly documents: number };

/** Loads a fleet directory. Never throws for anything in the directory; only for programming errors. */
export type FleetLoader = (dir: string) => Promise<LoadResult>;
