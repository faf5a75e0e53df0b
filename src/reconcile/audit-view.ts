/**
 * The daemon's side of the audit (`GET /api/v1/audit`): each lane's audit rows from its last full
 * pass (audit.ts: compact rows, not the listing itself), and the provenance record of each revision
 * it launches from (provenance.ts, kept in the template store). Answering a request makes no cloud
 * call: the report is as of each lane's last pass (`providers[].listedAt`), so an unauthenticated
 * reader cannot spend the fleet's API budget.
 *
 * Under HA a replica audits the lanes it holds: every other lane is listed in `providers` as not
 * listed here (reason `NotHeldHere`, naming its holder when known) and the report is not
 * `complete`; ask that lane's holder, or run `drover audit`, which lists every provider itself.
 */
import type { DesiredState } from '../contract/fleet.ts';
import type { Provider } from '../contract/provider.ts';
import { driftEvents } from './audit-events.ts';
import { auditRows, buildAudit } from './audit.ts';
import type { AuditEvents, AuditProvider, AuditReport, AuditRow } from './audit.ts';
import type { SourceView } from './desired-source.ts';
import type { PassResult } from './pass.ts';
import { provenanceFromSource } from './provenance.ts';
import type { TemplateStore } from './template-store.ts';

/** How long the events read for a report are reused. */
const EVENTS_TTL_MS = 5_000;

/** A lane's rows as of its last full pass. */
interface LaneRows {
  readonly listing: AuditProvider;
  readonly rows: readonly AuditRow[];
}

/** What a report needs besides the rows. */
export interface AuditContext {
  readonly state: DesiredState;
  readonly revision: string;
  /** source.git.verify.mode ('off' for a directory source). */
  readonly verifyMode: string;
  /** The event log (StateDir.eventLog). */
  readonly eventLog: string;
  readonly days: number;
  readonly now: Date;
  /** HA: the lanes this replica holds and each other lane's holder; undefined: a lone daemon (every lane here). */
  readonly lanes?: { readonly held: ReadonlySet<string>; readonly holderOf: (lane: string) => string | undefined };
}

/** Each lane's audit rows, and the provenance records. */
export class AuditView {
  private readonly lanes = new Map<string, LaneRows>();
  private readonly templates: TemplateStore;
  /** The last events read, by window: reading a full log costs ~0.3 s, and the route answers anyone. */
  private events: { readonly key: string; readonly at: number; readonly value: Promise<AuditEvents> } | undefined;

  constructor(templates: TemplateStore) {
    this.templates = templates;
  }

  /**
   * Records the provenance of `revision` as the source applied it, before a pass that may launch
   * from it (kept in templates.json with the pass's records; a lane on an older revision keeps the
   * record taken when that one was applied).
   */
  noteRevision(view: SourceView, revision: string, now: Date): void {
    const record = provenanceFromSource(view, revision, now);
    if (record !== undefined) this.templates.noteRevision(record);
  }

  /** Keeps the rows of `provider`'s full pass (its listing, compared with the templates). */
  record(provider: string, state: DesiredState, result: PassResult, providers: ReadonlyMap<string, Provider>, at: Date): void {
    const observation = result.observations.find((o) => o.provider === provider);
    if (observation === undefined) return;
    if (!observation.ok) {
      const { reason, message } = observation.error;
      this.lanes.set(provider, { listing: { name: provider, ok: false, reason, message }, rows: this.lanes.get(provider)?.rows ?? [] });
      return;
    }
    const rows = auditRows(state, observation.instances, providers, this.templates);
    this.lanes.set(provider, { listing: { name: provider, ok: true, instances: rows.length, listedAt: at.toISOString() }, rows });
  }

  /** The window's events, read at most once per {@link EVENTS_TTL_MS} per window (requests in between share the read). */
  private eventsOf(ctx: AuditContext): Promise<AuditEvents> {
    const key = `${ctx.eventLog}\0${ctx.days}`;
    const now = ctx.now.getTime();
    if (this.events?.key === key && now - this.events.at < EVENTS_TTL_MS) return this.events.value;
    const value = driftEvents(ctx.eventLog, ctx.days, ctx.now);
    this.events = { key, at: now, value };
    return value;
  }

  /** Forgets a lane that ended (its provider left the fleet, or the lane moved to another replica). */
  forget(provider: string): void {
    this.lanes.delete(provider);
  }

  /** The report as of each lane's last full pass. */
  async report(ctx: AuditContext): Promise<AuditReport> {
    const providers: AuditProvider[] = [];
    const rows: AuditRow[] = [];
    for (const name of Object.keys(ctx.state.providers).sort()) {
      const lane = this.lanes.get(name);
      if (ctx.lanes !== undefined && !ctx.lanes.held.has(name)) providers.push(notHere(name, ctx.lanes.holderOf(name)));
      else if (lane === undefined)
        providers.push({ name, ok: false, reason: 'NotListedYet', message: `no full pass of provider ${name} has finished yet` });
      else {
        providers.push(lane.listing);
        rows.push(...lane.rows);
      }
    }
    return buildAudit({
      state: ctx.state,
      revision: ctx.revision,
      now: ctx.now,
      verifyMode: ctx.verifyMode,
      providers,
      rows,
      provenance: (revision) => this.templates.provenance(revision),
      events: await this.eventsOf(ctx),
    });
  }
}

function notHere(name: string, holder: string | undefined): AuditProvider {
  const who = holder === undefined ? 'no replica holds it now' : `replica ${holder} holds it`;
  return {
    name,
    ok: false,
    reason: 'NotHeldHere',
    message: `lane ${name} is not run by this replica (${who}): ask its holder's /api/v1/audit, or run drover audit`,
  };
}
