/**
 * One group's conditions and note as `drover status` and `drover demo` print them, so the two
 * never contradict each other or the conditions: a Ready group shows no waits, a suspended group
 * says Suspended only, and a wait that time alone ends shows the time left.
 */

/** The parts of a group's status view the CLI prints. */
export interface GroupSummary {
  readonly suspendedBy?: string | undefined;
  readonly conditions: readonly { readonly type: string; readonly status: string }[];
  readonly waitingFor: readonly string[];
  readonly waits?: readonly { readonly reason: string; readonly secondsLeft?: number }[] | undefined;
  readonly lastError?: { readonly reason: string } | undefined;
}

/**
 * The conditions that are True, then those Unknown as `Type=Unknown` (a group drover could not
 * observe this pass); `-` when none. A suspended group shows `Suspended` only: drover neither
 * acts on it nor judges it (Degraded there is the state it was left in, not a problem to chase).
 */
export function conditionsText(group: GroupSummary): string {
  if (group.suspendedBy !== undefined) return 'Suspended';
  const isTrue = group.conditions.filter((c) => c.status === 'True').map((c) => c.type);
  const held = [...isTrue, ...group.conditions.filter((c) => c.status === 'Unknown').map((c) => `${c.type}=Unknown`)];
  return held.join(',') || '-';
}

/** What the group waits for (with time left), its error, or how it is suspended; '' when Ready. */
export function noteText(group: GroupSummary): string {
  if (group.suspendedBy !== undefined) return `suspended (${group.suspendedBy}): nothing is created or deleted`;
  if (group.lastError !== undefined) return `error: ${group.lastError.reason}`;
  if (group.conditions.some((c) => c.type === 'Ready' && c.status === 'True')) return '';
  const waits: readonly { readonly reason: string; readonly secondsLeft?: number }[] =
    group.waits ?? group.waitingFor.map((reason) => ({ reason }));
  return waits.map((w) => (w.secondsLeft === undefined ? w.reason : `${w.reason} (${w.secondsLeft}s left)`)).join(', ');
}
