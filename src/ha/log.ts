/** The logger the coordinator writes to: pino-compatible, static messages, facts in fields. */
export interface HaLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Discards everything (the default when no logger is given). */
export const silentLogger: HaLogger = { info: () => undefined, warn: () => undefined };

/** Names an error for a log field without its message (which may quote a server's text). */
export function errorName(error: unknown): string {
  if (error instanceof Error) {
    const reason = (error as { reason?: unknown }).reason;
    // etcd3's error classes leave `name` as 'Error': the class name says more.
    const name = error.name === 'Error' ? error.constructor.name : error.name;
    return typeof reason === 'string' ? `${name}:${reason}` : name;
  }
  return typeof error;
}
