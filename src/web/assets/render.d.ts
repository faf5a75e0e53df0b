/** Types of render.js and what it re-exports from format.js and group-page.js (plain JavaScript, shared by the daemon and the browser). */
export interface Safe {
  readonly text: string;
  toString(): string;
}
export interface FleetViewOptions {
  readonly query?: string;
  readonly sort?: 'name' | 'provider' | 'state' | 'progress';
  readonly page?: number;
}
export interface Sample {
  readonly t: number;
  readonly ready: number;
  readonly updatedReady: number;
  readonly live: number;
}
export declare function esc(value: unknown): string;
export declare function html(strings: TemplateStringsArray, ...values: unknown[]): Safe;
export declare function shortRev(revision: string | undefined): string;
export declare function dataTable(head: readonly string[], body: unknown, options?: { cls?: string; caption?: string }): Safe;
export declare function commitHref(repoUrl: string | undefined, sha: string | undefined): string | undefined;
export declare function commitLink(model: object, sha: string | undefined): Safe;
export declare function shortDigest(digest: string | undefined): string;
export declare function age(iso: string | undefined, now: number): string;
export declare function stateOf(row: object): string;
export declare function filterRows<T extends object>(rows: readonly T[], query: string | undefined): T[];
export declare function sortRows<T extends object>(rows: readonly T[], key: string | undefined): T[];
export declare function progressBar(row: object): Safe;
export declare function groupRow(row: object, desired: string | undefined, note?: string): Safe;
export declare function revisionAlert(model: object): Safe | '';
export declare function haView(model: object, now: number): Safe | '';
export declare function refusalsView(model: object): Safe | '';
export declare function orphansView(model: object): Safe | '';
export declare function revisionsView(model: object, now: number): Safe;
export declare const PAGE_SIZE: number;
export declare const POLL_BYTES_PER_SECOND: number;
export declare function pollDelay(bytes: number): number;
export declare function fleetView(model: object, view: FleetViewOptions, now: number): Safe;
export declare function timeline(
  samples: readonly Sample[],
  capacity: { floor: number; ceiling: number } | undefined,
  replicas: number,
  launches: readonly number[],
  now: number,
): Safe;
export declare function groupPage(
  model: object,
  row: object | undefined,
  full: object | undefined,
  samples: readonly Sample[],
  now: number,
): Safe;
export declare function eventsView(model: object, now: number): Safe | '';
