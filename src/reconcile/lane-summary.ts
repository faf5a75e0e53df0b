/**
 * What a lane's holder publishes after each full pass (LaneCoordinator.publish), so every replica
 * can show the whole fleet and judge the deletion guard fleet-wide: the lane's groups as status
 * shows them (names, conditions, counts, revisions, template), what its provider listed, counted,
 * and the deletes its pass counted. Small by construction (no instance lists; groups beyond
 * MAX_SUMMARY_BYTES are counted, not listed) and never a secret (the same fields status shows).
 */
import { countedDeletes } from '../plan/index.ts';
import type { GroupView } from '../status/status-store.ts';
import type { PassResult } from './pass.ts';
import { sliceOf } from './slices.ts';

/** Largest published summary (etcd values should stay small; status needs only the groups' heads). */
export const MAX_SUMMARY_BYTES = 8 * 1024;

/** One group as published. */
export interface SummaryGroup {
  readonly name: string;
  readonly provider: string;
  readonly replicas: number;
  readonly strategy: string;
  readonly desiredTemplateHash: string;
  readonly suspendedBy?: 'git' | 'api';
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason: string }[];
  readonly counts?: { readonly live: number; readonly ready: number; readonly updatedReady: number; readonly terminating: number };
  readonly waitingFor: readonly string[];
  readonly lastAppliedRevision?: string;
  readonly lastAttemptedRevision?: string;
}

/** A lane's published summary (PublishedSummary.data). */
export interface LaneSummary {
  /** The revision of the pass. */
  readonly revision: string;
  readonly groups: readonly SummaryGroup[];
  /** Groups left out to keep the summary under MAX_SUMMARY_BYTES. */
  readonly omittedGroups: number;
  /** What the provider listed: instances, and running ones (the other lanes' share of the deletion guard). */
  readonly listed: { readonly instances: number; readonly running: number };
  /** Deletes the pass counted against maxDeletePercent. */
  readonly deletes: number;
}

/** The summary of a lane's pass from its groups' status. */
export function laneSummary(revision: string, groups: readonly GroupView[], listed: LaneSummary['listed'], deletes: number): LaneSummary {
  const all = groups.map(summaryGroup);
  const kept: SummaryGroup[] = [];
  let bytes = JSON.stringify({ revision, groups: [], omittedGroups: all.length, listed, deletes }).length;
  for (const group of all) {
    const size = JSON.stringify(group).length + 1;
    if (bytes + size > MAX_SUMMARY_BYTES) break;
    kept.push(group);
    bytes += size;
  }
  return { revision, groups: kept, omittedGroups: all.length - kept.length, listed, deletes };
}

/** The summary of `provider`'s lane after its full pass `result`, its groups' status from `groups`. */
export function passSummary(provider: string, result: PassResult, groups: readonly GroupView[]): LaneSummary {
  const listed = sliceOf(result).listed.reduce(
    (sum, l) => (l.ok ? { instances: sum.instances + l.instances, running: sum.running + l.running } : sum),
    { instances: 0, running: 0 },
  );
  const own = groups.filter((g) => g.provider === provider);
  return laneSummary(result.revision, own, listed, countedDeletes(result.guarded));
}

function summaryGroup(view: GroupView): SummaryGroup {
  const counts = view.counts;
  return {
    name: view.name,
    provider: view.provider,
    replicas: view.replicas,
    strategy: view.strategy,
    desiredTemplateHash: view.desiredTemplateHash,
    ...(view.suspendedBy === undefined ? {} : { suspendedBy: view.suspendedBy }),
    conditions: view.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason })),
    ...(counts === undefined
      ? {}
      : { counts: { live: counts.live, ready: counts.ready, updatedReady: counts.updatedReady, terminating: counts.terminating } }),
    waitingFor: view.waitingFor,
    ...(view.lastAppliedRevision === undefined ? {} : { lastAppliedRevision: view.lastAppliedRevision }),
    ...(view.lastAttemptedRevision === undefined ? {} : { lastAttemptedRevision: view.lastAttemptedRevision }),
  };
}

/** Whether every group of a summary was settled (Ready and not Progressing, suspended, or Stalled). */
export function summarySettled(summary: LaneSummary): boolean {
  return summary.groups.every((g) => g.suspendedBy !== undefined || is(g, 'Stalled') || (is(g, 'Ready') && !is(g, 'Progressing')));
}

function is(group: SummaryGroup, type: string): boolean {
  return group.conditions.some((c) => c.type === type && c.status === 'True');
}

/** A published summary's data read back (from another replica: checked, never trusted blindly). */
export function readSummary(data: Readonly<Record<string, unknown>> | undefined): LaneSummary | undefined {
  if (data === undefined || typeof data['revision'] !== 'string' || !Array.isArray(data['groups'])) return undefined;
  const listed = data['listed'] as LaneSummary['listed'] | undefined;
  return {
    revision: data['revision'],
    groups: data['groups'] as SummaryGroup[],
    omittedGroups: typeof data['omittedGroups'] === 'number' ? data['omittedGroups'] : 0,
    listed: { instances: Number(listed?.instances ?? 0), running: Number(listed?.running ?? 0) },
    deletes: typeof data['deletes'] === 'number' ? data['deletes'] : 0,
  };
}
