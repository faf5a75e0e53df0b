/**
 * `drover audit [dir]`: the provenance and compliance report of the running fleet. Lists every
 * provider once (a read, opened as `drover plan` opens them: --config bindings, --endpoint,
 * DROVER_ENDPOINT_<NAME>), compares each instance with its template (the tamper comparer), and
 * says for each the revision that created it: its author and signature from the daemon's records
 * in --state-dir (templates.json) and, in the fleet's Git repository (--repo, default the work
 * tree of `dir`), checked now against the operator's `source.git.verify` keys. The drift and
 * tamper events come from the state directory's event log. Nothing is launched, deleted or written.
 *
 * Exit 0: every instance traces back (a known revision, signed by a trusted key when --config
 * configures verification, and a template it still matches) and every provider was listed;
 * 1: anything else, or an error (a bad flag, an unreadable file: named on stderr).
 */
import type { Command } from 'commander';
import { loadProviderBindings } from '../config/daemon-config.ts';
import { untrustedFileProblems } from '../config/file-checks.ts';
import type { DesiredState } from '../contract/fleet.ts';
import { InvalidConfig } from '../source/errors.ts';
import type { VerifyConfig } from '../source/verify.ts';
import { driftEvents } from '../reconcile/audit-events.ts';
import { auditExitCode, auditRows, buildAudit } from '../reconcile/audit.ts';
import type { AuditProvider, AuditReport, AuditRow } from '../reconcile/audit.ts';
import type { Provenance } from '../reconcile/provenance.ts';
import { StateDir } from '../reconcile/state-dir.ts';
import { gitDirOf, openRevisionChecker } from './audit-git.ts';
import { renderAuditMarkdown, renderAuditText } from './audit-render.ts';
import { loadOrReport, openSession, type CloudOptions, type Session } from './session.ts';
import { printErr, printOut } from './terminal-text.ts';
import { UsageError } from './usage-error.ts';
import { requireDirectory } from './validate.ts';
import path from 'node:path';

/** How long one provider's listing may take before it is reported not listed. */
const LIST_TIMEOUT_MS = 120_000;

/** Where revisions are looked up: `--repo` (named: a bare repository may be meant), else the fleet directory's work tree. */
interface Repo {
  readonly path: string;
  readonly named: boolean;
}

interface AuditOptions extends CloudOptions {
  readonly json?: boolean;
  readonly markdown?: boolean;
  readonly days?: string;
  readonly repo?: string;
}

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('audit')
    .description(
      'provenance of every instance: image, artifact, revision, author, signature, template match (exit 0 all trace back, 1 not, or an error)',
    )
    .argument('[dir]', 'fleet directory', '.')
    .option('--json', 'print the report as JSON (schemas/audit.schema.json)')
    .option('--markdown', 'print the report as Markdown')
    .option('--config <file>', "the operator's config: provider bindings, and source.git.verify (also DROVER_CONFIG)")
    .option('--endpoint <provider=url...>', 'point a provider at another endpoint, e.g. a drover sim (also DROVER_ENDPOINT_<NAME>)')
    .option('--state-dir <dir>', "drover's state directory (templates, revision records, event log)", '.drover')
    .option('--repo <path>', 'the Git repository to look revisions up in (default: the work tree of the fleet directory)')
    .option('--days <n>', 'drift and tamper events of the last N days', '30')
    .option('--max-instances <n>', "refuse a fleet asking for more instances in total (the daemon's limits.maxInstances)", '10000')
    .option('--max-providers <n>', "refuse a fleet declaring more Provider documents (the daemon's limits.maxProviders)", '32')
    .action(async (dir: string, options: AuditOptions) => {
      if (options.json === true && options.markdown === true) throw new UsageError('--json and --markdown are exclusive: choose one');
      const days = parseDays(options.days);
      if (options.repo !== undefined) await requireDirectory(options.repo);
      const state = await loadOrReport(dir, options.maxInstances, options.maxProviders);
      if (state === undefined) return setExitCode(1);
      const verify = await verifyOf(options.config ?? process.env['DROVER_CONFIG']);
      await refuseUntrustedKeys(verify, dir, options.stateDir ?? '.drover');
      const session = await openSession(dir, { ...state }, { ...options, probes: false });
      try {
        const repo = { path: options.repo ?? dir, named: options.repo !== undefined };
        const report = await audit(state, session, options, verify, days, repo);
        if (options.json === true) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printOut(options.markdown === true ? renderAuditMarkdown(report) : renderAuditText(report));
        for (const message of session.leaked()) printErr(`drover audit: a cloud SDK also failed outside its call: ${message}\n`);
        setExitCode(auditExitCode(report));
      } finally {
        await session.close();
      }
    });
}

async function audit(
  state: DesiredState,
  session: Session,
  options: AuditOptions,
  verify: VerifyConfig,
  days: number,
  repo: Repo,
): Promise<AuditReport> {
  const { providers, rows } = await listAll(state, session);
  const provenance = await provenanceOf(rows, session, verify, repo);
  const now = new Date();
  return buildAudit({
    state,
    revision: session.revision,
    now,
    verifyMode: verify.mode,
    providers,
    rows,
    provenance: (revision) => provenance.get(revision),
    events: await driftEvents(new StateDir(path.resolve(options.stateDir ?? '.drover')).eventLog, days, now),
  });
}

/** One listing per provider (a read); a provider that cannot be opened or listed is reported, not fatal. */
async function listAll(state: DesiredState, session: Session): Promise<{ providers: AuditProvider[]; rows: AuditRow[] }> {
  const providers: AuditProvider[] = [];
  const rows: AuditRow[] = [];
  for (const name of Object.keys(state.providers).sort()) {
    const provider = session.opened.providers.get(name);
    const failed = session.opened.errors.get(name);
    if (provider === undefined) {
      providers.push({ name, ok: false, reason: failed?.reason ?? 'NotOpened', message: failed?.message ?? 'not opened' });
      continue;
    }
    try {
      const listed = await provider.list({ fleet: state.fleet.id }, { signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
      const mine = auditRows(state, listed, session.opened.providers, session.deps.templates);
      rows.push(...mine);
      providers.push({ name, ok: true, instances: mine.length, listedAt: new Date().toISOString() });
    } catch (error) {
      const reason = (error as { reason?: unknown }).reason;
      const message = error instanceof Error ? error.message : String(error);
      providers.push({ name, ok: false, reason: typeof reason === 'string' ? reason : 'ListFailed', message });
    }
  }
  return { providers, rows };
}

/**
 * Each revision the instances carry: the daemon's record (as it verified the revision when it
 * applied it) and the repository's answer now; a verified signature from either wins (the daemon
 * may have verified a signed tag, the repository a signed commit), else the check made now.
 */
async function provenanceOf(
  rows: readonly AuditRow[],
  session: Session,
  verify: VerifyConfig,
  repo: Repo,
): Promise<Map<string, Provenance>> {
  const revisions = [...new Set(rows.flatMap((r) => (r.revision === undefined ? [] : [r.revision])))];
  const checker = await openRevisionChecker(await gitDirOf(repo.path, repo.named), verify).catch((error: unknown) => {
    if (error instanceof InvalidConfig) throw new UsageError(`source.git.verify of the config: ${error.message}`);
    throw error;
  });
  try {
    const out = new Map<string, Provenance>();
    for (const revision of revisions) {
      const recorded = session.deps.templates.provenance(revision);
      const checked = await checker.check(revision);
      const best = [checked, recorded].find((p) => p?.signature.status === 'verified') ?? checked ?? recorded;
      // Launch records are the daemon's alone (a signature checked now knows nothing of launches).
      const launched = recorded?.launched === undefined ? {} : { launched: recorded.launched };
      if (best !== undefined) out.set(revision, { ...best, author: best.author ?? recorded?.author ?? checked?.author, ...launched });
    }
    return out;
  } finally {
    await checker.close();
  }
}

/**
 * The trust files of `verify` may not lie where a commit can put files (the fleet's work tree, the
 * state directory), as the daemon refuses them at start: a planted key would make its own
 * signatures trusted.
 */
async function refuseUntrustedKeys(verify: VerifyConfig, dir: string, stateDir: string): Promise<void> {
  const files = [
    ...(verify.gpgPublicKeyFiles ?? []).map((file, i) => ({ setting: `source.git.verify.gpgPublicKeyFiles[${i}]`, file })),
    ...(verify.sshAllowedSignersFile === undefined
      ? []
      : [{ setting: 'source.git.verify.sshAllowedSignersFile', file: verify.sshAllowedSignersFile }]),
  ];
  const gitDir = await gitDirOf(dir, false);
  const roots = [
    { dir: gitDir === undefined ? dir : path.dirname(gitDir), what: 'the fleet checkout' },
    { dir: stateDir, what: 'the state directory' },
  ];
  const problems = await untrustedFileProblems(files, roots);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
}

/** The config's signature policy (`source.git.verify`); off without a config or a Git source. */
async function verifyOf(file: string | undefined): Promise<VerifyConfig> {
  const result = await loadProviderBindings(file, process.env);
  return (result.ok ? result.verify : undefined) ?? { mode: 'off' };
}

function parseDays(value: string | undefined): number {
  const days = Number(value ?? '30');
  if (!/^\d{1,4}$/.test(value ?? '30') || days < 1 || days > 3650)
    throw new UsageError(`--days must be a whole number of days from 1 to 3650, got '${value}'`);
  return days;
}
