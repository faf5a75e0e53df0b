/**
 * The drift and tamper events of the audit's window, read from the event log the daemon keeps in
 * its state directory (`events.jsonl`, rotated to `events.jsonl.1` past 5 MiB: the log holds the
 * last 5 to 10 MiB of events, so the window reaches back no further than its oldest line, which the
 * report shows as `logStartsAt`). Drift events are the deletes of drifted instances (an event with
 * `drift`, the delete's reason: drift-modified, drift-stopped, drift-unknown-template) and the
 * InstancesTampered / TamperResolved events of `drift.modified: report` groups.
 */
import { readFile } from 'node:fs/promises';
import type { DroverEvent } from '../status/status-store.ts';
import type { AuditEvents } from './audit.ts';

/**
 * Most events a report carries (the newest of the window; the rest are counted as `omitted`): a full
 * log holds some 40,000 events, and the daemon's route answers anyone who can reach it.
 */
export const MAX_AUDIT_EVENTS = 1000;

/** Reasons of the tamper events (status-store.ts records them when a group's Tampered condition changes). */
const TAMPER_REASONS: ReadonlySet<string> = new Set(['InstancesTampered', 'TamperResolved']);

/** Whether `event` is about drift or tampering. */
export function isDriftEvent(event: DroverEvent): boolean {
  return event.drift !== undefined || TAMPER_REASONS.has(event.reason);
}

/** The drift and tamper events of the last `days` days before `now` in the log `file` (and its rotated `.1`). */
export async function driftEvents(file: string | undefined, days: number, now: Date): Promise<AuditEvents> {
  const since = new Date(now.getTime() - days * 86_400_000);
  const lines = file === undefined ? [] : [...(await linesOf(`${file}.1`)), ...(await linesOf(file))];
  const events = lines.flatMap(parse);
  const inWindow = events.filter((e) => isDriftEvent(e) && Date.parse(e.at) >= since.getTime());
  const omitted = Math.max(0, inWindow.length - MAX_AUDIT_EVENTS);
  return {
    days,
    since: since.toISOString(),
    logStartsAt: events[0]?.at,
    entries: inWindow.slice(omitted),
    ...(omitted > 0 ? { omitted } : {}),
  };
}

async function linesOf(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '');
}

/** One line of the log; a torn or foreign line is skipped (the log is a convenience). */
function parse(line: string): DroverEvent[] {
  try {
    const event = JSON.parse(line) as DroverEvent;
    return typeof event.at === 'string' && typeof event.reason === 'string' && !Number.isNaN(Date.parse(event.at)) ? [event] : [];
  } catch {
    return [];
  }
}
