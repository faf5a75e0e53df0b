/**
 * Structured JSON logs (pino). Messages are static; facts go in fields (reconcileId, group,
 * revision, provider). Fields that could carry credentials are redacted by path as a second line
 * of defence; the first is never putting a secret in a field.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** A logger writing JSON lines to stdout (or `destination`). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'drover' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'token',
          'secret',
          'password',
          'authorization',
          '*.token',
          '*.secret',
          '*.password',
          '*.authorization',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    destination as never,
  );
}
