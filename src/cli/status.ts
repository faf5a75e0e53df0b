/** `drover status [--url URL] [--json]`: reads the daemon's API and prints a table of groups. */
import type { Command } from 'commander';
import { request } from 'undici';
import { conditionsText, noteText } from './group-notes.ts';
import { renderTable } from './table.ts';
import { UsageError } from './usage-error.ts';
import { printOut } from './terminal-text.ts';

interface StatusOptions {
  readonly url: string;
  readonly json?: boolean;
}

export interface GroupRow {
  name: string;
  provider: string;
  replicas: number;
  strategy: string;
  desiredTemplateHash: string;
  suspendedBy?: string;
  conditions: { type: string; status: string; reason: string }[];
  counts?: { live: number; ready: number; updatedReady: number };
  waitingFor: string[];
  waits?: { reason: string; secondsLeft?: number }[];
  lastAppliedRevision?: string;
  lastError?: { reason: string };
  /** HA: the replica holding the group's lane (null: nobody now). */
  heldBy?: string | null;
}

/** HA: the `ha` block of the status document. */
export interface HaStatus {
  replica: string | null;
  health: { ok: boolean; reason: string };
  lanes: {
    lane: string;
    here: boolean;
    holder?: { replica: string; token: string; since: string };
    summary?: { publishedAt: string; revision?: string };
  }[];
}

export type StatusDocument = {
  fleet?: string;
  source?: { lastAppliedRevision?: string; lastAttemptError?: { reason: string; message: string } };
  groups: GroupRow[];
  ha?: HaStatus;
};

export function register(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('status')
    .description("show the daemon's view of every group (reads its HTTP API)")
    .option('--url <url>', 'daemon address', process.env['DROVER_URL'] ?? 'http://127.0.0.1:8080')
    .option('--json', 'print the raw status document')
    .action(async (options: StatusOptions) => {
      const body = await fetchStatus(options.url);
      if (options.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return setExitCode(0);
      }
      printOut(renderStatus(body as StatusDocument));
      setExitCode(0);
    });
}

async function fetchStatus(url: string): Promise<unknown> {
  let response;
  try {
    response = await request(new URL('/api/v1/status', url), { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message;
    throw new UsageError(`cannot reach the daemon at ${url} (${reason}); is drover run listening there? (--url or DROVER_URL)`);
  }
  if (response.statusCode !== 200) throw new UsageError(`the daemon at ${url} answered HTTP ${response.statusCode}`);
  return response.body.json();
}

/** The status document as `drover status` prints it: a table of groups (with HELD BY and the lanes under HA). */
export function renderStatus(status: StatusDocument): string {
  const ha = status.ha;
  const rows = status.groups.map((g) => {
    const counts = g.counts ? `${g.counts.updatedReady}/${g.replicas}` : `?/${g.replicas}`;
    const row = [g.name, g.provider, g.strategy, counts, g.desiredTemplateHash, conditionsText(g), noteText(g)];
    return ha === undefined ? row : [...row.slice(0, 2), g.heldBy ?? '-', ...row.slice(2)];
  });
  const header = ['GROUP', 'PROVIDER', 'STRATEGY', 'UPDATED', 'TEMPLATE', 'CONDITIONS', 'NOTE'];
  const source = status.source;
  const head = `fleet ${status.fleet ?? '?'} at revision ${source?.lastAppliedRevision ?? '(none yet)'}`;
  const rejected = source?.lastAttemptError
    ? `\nnewest revision rejected (${source.lastAttemptError.reason}): ${source.lastAttemptError.message}`
    : '';
  const groups = renderTable(ha === undefined ? header : [...header.slice(0, 2), 'HELD BY', ...header.slice(2)], rows);
  return `${head}${rejected}\n\n${groups}\n${ha === undefined ? '' : `\n${renderLanes(ha)}\n`}`;
}

/** HA: this replica and every lane's holder (replica, fencing token, since) and last summary. */
function renderLanes(ha: HaStatus): string {
  const rows = ha.lanes.map((l) => [
    l.lane,
    l.holder === undefined ? '(nobody)' : `${l.holder.replica}${l.here ? ' (this replica)' : ''}`,
    l.holder?.token ?? '-',
    l.holder?.since ?? '-',
    l.summary === undefined ? '-' : `${l.summary.publishedAt}${l.summary.revision === undefined ? '' : ` @ ${l.summary.revision}`}`,
  ]);
  const head = `replica ${ha.replica ?? '?'}: ${ha.health.ok ? 'connected to etcd' : ha.health.reason}`;
  return `${head}\n${renderTable(['LANE', 'HOLDER', 'TOKEN', 'SINCE', 'SUMMARY'], rows)}`;
}
