/**
 * The provenance and audit report (`drover audit`, `GET /api/v1/audit`): for every instance of the
 * fleet, its image digest, the artifact it was launched from, the revision that created it (commit,
 * author, signature status and key), its launch time and whether it still matches its template (the
 * tamper comparer's verdict); the instances that carry the fleet id but no readable template; and
 * the fleet's drift and tamper events of the last days. Pure: the listing, the records and the
 * events come from the caller (the CLI lists the clouds; the daemon keeps each lane's last listing,
 * audit-view.ts). Schema: schemas/audit.schema.json.
 */
import type { Artifact, DesiredState, LaunchTemplate } from '../contract/fleet.ts';
import type { ObservedInstance, Provider } from '../contract/provider.ts';
import type { DroverEvent } from '../status/status-store.ts';
import { checkRevisionLabel, type Provenance, type RevisionCheck, type SignatureRecord } from './provenance.ts';
import { withModifications } from './tamper.ts';
import type { TemplateStore } from './template-store.ts';

/**
 * Whether an instance still matches its template: `matches` (its cloud's facts agree),
 * `modified` (changed out of band: `modified` names the fields), `not-compared` (its provider
 * reports no launch facts), `unknown-template` (no readable template: no group or hash label, or a
 * hash drover never recorded).
 */
export type TemplateVerdict = 'matches' | 'modified' | 'not-compared' | 'unknown-template';

/** One listed instance with what the audit needs of it: kept by the daemon between passes, so small. */
export interface AuditRow {
  readonly id: string;
  readonly name: string;
  readonly provider: string;
  readonly zone: string;
  readonly state: string;
  readonly createdAt: number;
  readonly group: string | undefined;
  readonly templateHash: string | undefined;
  readonly imageDigest: string | undefined;
  readonly artifact: Artifact | undefined;
  readonly revision: string | undefined;
  readonly template: TemplateVerdict;
  readonly modified: readonly string[];
}

/** One instance in the report. */
export interface AuditInstance extends Omit<AuditRow, 'createdAt' | 'modified'> {
  /** Launch time, ISO 8601 (the cloud's creation time). */
  readonly launchedAt: string;
  readonly modified?: readonly string[];
  /** The revision's provenance: commit, author, signature (unknown when drover has no record). */
  readonly provenance: {
    readonly source?: 'git' | 'dir';
    readonly author?: string;
    readonly authoredAt?: string;
    readonly signature: SignatureRecord;
  };
  /**
   * Whether the revision label is borne out by drover's launch records (absent: no record of the
   * revision): an `inconsistent` label never traces back, whatever the revision's signature.
   */
  readonly revisionCheck?: RevisionCheck;
  /** Traces back to a known revision with its template unchanged (and a verified signature when verification is configured). */
  readonly traced: boolean;
  /** Why it does not trace back (empty when it does). */
  readonly untracedBecause: readonly string[];
}

/** A provider's listing for the report. */
export type AuditProvider =
  | { readonly name: string; readonly ok: true; readonly instances: number; readonly listedAt: string }
  | { readonly name: string; readonly ok: false; readonly reason: string; readonly message: string };

/** The whole report. */
export interface AuditReport {
  readonly fleet: string;
  /** The revision the fleet's desired state is at (the applied one for the daemon; the work tree's for the CLI). */
  readonly revision: string;
  readonly generatedAt: string;
  /** Signature verification configured (source.git.verify.mode other than off): every revision must then be signed. */
  readonly verification: { readonly configured: boolean; readonly mode: string };
  /** Every provider was listed (false: some instances may be missing, see `providers`). */
  readonly complete: boolean;
  readonly providers: readonly AuditProvider[];
  readonly instances: readonly AuditInstance[];
  /** Instances carrying the fleet id but no readable template. */
  readonly unknownTemplate: readonly AuditInstance[];
  readonly events: AuditEvents;
  readonly summary: {
    readonly instances: number;
    readonly traced: number;
    readonly untraced: number;
    readonly modified: number;
    readonly unknownTemplate: number;
    readonly unsigned: number;
  };
}

/** The drift and tamper events of the window. */
export interface AuditEvents {
  readonly days: number;
  /** Start of the window (ISO 8601). */
  readonly since: string;
  /** The oldest event the log still holds (undefined: no log or empty): the window reaches back no further. */
  readonly logStartsAt: string | undefined;
  /** The newest events of the window, oldest first (at most MAX_AUDIT_EVENTS: audit-events.ts). */
  readonly entries: readonly DroverEvent[];
  /** Older events of the window left out beyond that cap (absent: none). */
  readonly omitted?: number;
}

/**
 * The audit rows of `observed` (one provider's listing): each instance's template (the group's
 * desired one for its hash, else the one drover remembered) and the tamper comparer's verdict.
 */
export function auditRows(
  state: DesiredState,
  observed: readonly ObservedInstance[],
  providers: ReadonlyMap<string, Provider>,
  templates: TemplateStore,
): AuditRow[] {
  const compared = withModifications(state, observed, providers, templates);
  return compared
    .filter((inst) => inst.state !== 'terminated' && inst.fleet === state.fleet.id)
    .map((inst) => {
      const template = templateOf(state, templates, inst);
      // The digest is the template's (attack24 F5): the label is anyone's to edit, so one that
      // disagrees with the template is a modification, never the report's answer.
      const digestEdited = template !== undefined && inst.imageDigest !== undefined && inst.imageDigest !== template.imageDigest;
      const modified = [
        ...(inst.modified ?? []),
        ...(digestEdited && !(inst.modified ?? []).includes('ownership.digest') ? ['ownership.digest'] : []),
      ];
      return {
        id: inst.id,
        name: inst.name,
        provider: inst.provider,
        zone: inst.zone,
        state: inst.state,
        createdAt: inst.createdAt,
        group: inst.group,
        templateHash: inst.templateHash,
        imageDigest: template?.imageDigest ?? inst.imageDigest,
        artifact: template?.artifact,
        revision: inst.revision === '' ? undefined : inst.revision,
        template: verdict(template, inst.launch !== undefined, modified),
        modified,
      };
    });
}

function verdict(template: LaunchTemplate | undefined, hasFacts: boolean, modified: readonly string[]): TemplateVerdict {
  if (template === undefined) return 'unknown-template';
  if (modified.length > 0) return 'modified';
  return hasFacts ? 'matches' : 'not-compared';
}

/** The instance's own template, by (group, hash): the desired one, else the remembered one. */
function templateOf(state: DesiredState, templates: TemplateStore, inst: ObservedInstance): LaunchTemplate | undefined {
  if (inst.group === undefined || inst.templateHash === undefined) return undefined;
  const group = state.groups[inst.group];
  if (group?.templateHash === inst.templateHash) return group.template;
  return templates.get(inst.group, inst.templateHash);
}

/** What the report is built from. */
export interface AuditInput {
  readonly state: DesiredState;
  readonly revision: string;
  readonly now: Date;
  readonly verifyMode: string;
  readonly providers: readonly AuditProvider[];
  readonly rows: readonly AuditRow[];
  /** The provenance of a revision (the records, or the CLI's own verification); undefined: unknown. */
  readonly provenance: (revision: string) => Provenance | undefined;
  readonly events: AuditEvents;
}

/** Builds the report; instances sorted by provider, group and name. */
export function buildAudit(input: AuditInput): AuditReport {
  const configured = input.verifyMode !== 'off';
  const all = [...input.rows].sort(byPlace).map((row) => instanceOf(row, input.provenance, configured));
  const instances = all.filter((i) => i.template !== 'unknown-template');
  const unknownTemplate = all.filter((i) => i.template === 'unknown-template');
  return {
    fleet: input.state.fleet.id,
    revision: input.revision,
    generatedAt: input.now.toISOString(),
    verification: { configured, mode: input.verifyMode },
    complete: input.providers.every((p) => p.ok),
    providers: input.providers,
    instances,
    unknownTemplate,
    events: input.events,
    summary: {
      instances: all.length,
      traced: all.filter((i) => i.traced).length,
      untraced: all.filter((i) => !i.traced).length,
      modified: all.filter((i) => i.template === 'modified').length,
      unknownTemplate: unknownTemplate.length,
      // With verification off nothing was checked (attack24 F6): not-checked, never counted unsigned.
      unsigned: configured ? all.filter((i) => i.provenance.signature.status !== 'verified').length : 0,
    },
  };
}

/**
 * `drover audit`'s exit code: 0 when every instance traces back (and every provider was listed),
 * 1 otherwise. "Traces back": a known revision, a readable template it still matches, and, when
 * signature verification is configured, a revision whose signature was verified.
 */
export function auditExitCode(report: AuditReport): number {
  return report.complete && report.summary.untraced === 0 ? 0 : 1;
}

function instanceOf(row: AuditRow, lookup: AuditInput['provenance'], verification: boolean): AuditInstance {
  const record = row.revision === undefined ? undefined : lookup(row.revision);
  const signature: SignatureRecord = record?.signature ?? { status: 'unknown' };
  const check = record === undefined ? undefined : checkRevisionLabel(record, row.group, row.templateHash);
  const because = [
    ...(check === 'inconsistent' ? ['its revision label names a revision that launched no instance of this group and template'] : []),
    ...(row.revision === undefined ? ['no revision label'] : record === undefined ? ['no record of its revision'] : []),
    ...(row.template === 'unknown-template' ? ['no readable template'] : []),
    ...(row.template === 'modified' ? [`modified out of band (${row.modified.join(', ')})`] : []),
    ...(verification && record !== undefined && signature.status !== 'verified'
      ? [`revision not signed by a trusted key (${signature.status})`]
      : []),
  ];
  const { createdAt, modified, ...rest } = row;
  return {
    ...rest,
    launchedAt: new Date(createdAt).toISOString(),
    ...(modified.length > 0 ? { modified } : {}),
    ...(check === undefined ? {} : { revisionCheck: check }),
    provenance: {
      ...(record === undefined ? {} : { source: record.source }),
      ...(record?.author === undefined ? {} : { author: record.author, authoredAt: record.authoredAt }),
      signature,
    },
    traced: because.length === 0,
    untracedBecause: because,
  };
}

function byPlace(a: AuditRow, b: AuditRow): number {
  const ka = `${a.provider}\0${a.group ?? ''}\0${a.name}\0${a.id}`;
  const kb = `${b.provider}\0${b.group ?? ''}\0${b.name}\0${b.id}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
