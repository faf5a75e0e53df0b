/**
 * What the notifier and the commit-status reporter remember across a restart, as small JSON files
 * in the state directory (`<stateDir>/notify/`): the commit states posted and the revisions followed
 * (forge/commit-status.ts), each group's last status told and the alerts fired (hub.ts). Without
 * them a restarted daemon re-posts final states and re-announces old failures. Like every file of
 * the state directory it is a cache that is safe to lose: a missing or unreadable file is an empty
 * memory. Writes are atomic (a temporary file renamed over) and private (0600, directory 0700);
 * a write that fails is logged once and the daemon goes on.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NotifyLog } from './delivery.ts';

/** One remembered JSON value. */
export interface Memory<T> {
  load(): T | undefined;
  save(value: T): void;
}

/** A {@link Memory} in `file` (its directory created on the first save); writes skipped when unchanged. */
export class JsonFileMemory<T> implements Memory<T> {
  private readonly file: string;
  private readonly log: NotifyLog;
  private last: string | undefined;
  private warned = false;

  constructor(file: string, log: NotifyLog) {
    this.file = file;
    this.log = log;
  }

  load(): T | undefined {
    try {
      this.last = readFileSync(this.file, 'utf8');
      return JSON.parse(this.last) as T;
    } catch {
      return undefined;
    }
  }

  save(value: T): void {
    const text = JSON.stringify(value);
    if (text === this.last) return;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      const temporary = `${this.file}.tmp`;
      writeFileSync(temporary, text, { mode: 0o600 });
      renameSync(temporary, this.file);
      this.last = text;
    } catch (error) {
      if (this.warned) return;
      this.warned = true;
      this.log.warn(
        { file: this.file, code: (error as { code?: string }).code },
        'notification memory not saved; a restart may repeat posts',
      );
    }
  }
}
