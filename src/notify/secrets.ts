/**
 * Reads the notification sinks' and the forge's secrets (webhook URLs, HMAC keys, tokens) from
 * their files or environment variables at start, and builds the runtime settings. An error names
 * the sink and the config field, never the value (a URL read from a secret is not shown either).
 */
import { readFile } from 'node:fs/promises';
import { shownPath } from '../contract/shown-path.ts';
import type { NotifyConfig, SecretRef, SinkConfig } from './config.ts';
import { urlProblemText } from './config.ts';
import { defaultBaseUrl } from './forge/forges.ts';
import type { CommitStatusSettings } from './forge/commit-status.ts';
import type { SinkSettings } from './notifier.ts';

/** A secret that cannot be used; `field` is the config field (`notifications.sinks[0] (ops).urlFile`). */
export class NotifySecretError extends Error {
  readonly reason: 'unreadable' | 'empty' | 'unset' | 'bad-url';
  readonly field: string;
  constructor(reason: NotifySecretError['reason'], field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.name = 'NotifySecretError';
    this.reason = reason;
    this.field = field;
  }
}

/** Reads one secret (trimmed); throws {@link NotifySecretError} without its value. */
export async function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv): Promise<string> {
  if ('env' in ref) {
    const value = env[ref.env]?.trim();
    if (value === undefined || value === '')
      throw new NotifySecretError('unset', ref.field, `environment variable ${ref.env} is not set or empty`);
    return value;
  }
  const text = await readFile(ref.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new NotifySecretError('unreadable', ref.field, `${shownPath(ref.file)} cannot be read (${error.code ?? 'EIO'})`);
  });
  const value = text.trim();
  if (value === '') throw new NotifySecretError('empty', ref.field, `${shownPath(ref.file)} is empty; write the secret into it`);
  return value;
}

/** A URL from a secret, checked like a configured one but never repeated. */
async function secretUrl(ref: SecretRef, env: NodeJS.ProcessEnv): Promise<string> {
  const url = await readSecret(ref, env);
  const problem = urlProblemText(url, false);
  if (problem !== undefined) throw new NotifySecretError('bad-url', ref.field, `the URL it holds ${problem} (not shown: it is a secret)`);
  return url;
}

/** The runtime settings of every sink, secrets read. */
export async function resolveSinks(config: NotifyConfig, env: NodeJS.ProcessEnv): Promise<SinkSettings[]> {
  return Promise.all(config.sinks.map((sink) => resolveSink(sink, env)));
}

async function resolveSink(sink: SinkConfig, env: NodeJS.ProcessEnv): Promise<SinkSettings> {
  const url = 'value' in sink.url ? sink.url.value : await secretUrl(sink.url, env);
  const hmacSecret = sink.hmacSecret ? await readSecret(sink.hmacSecret, env) : undefined;
  const token = sink.token ? await readSecret(sink.token, env) : undefined;
  return {
    name: sink.name,
    target: {
      type: sink.type,
      url,
      ...(hmacSecret === undefined ? {} : { hmacSecret }),
      ...(token === undefined ? {} : { token }),
      alertTtlMs: sink.alertTtlMs,
    },
    ...(sink.events ? { events: sink.events } : {}),
    minSeverity: sink.minSeverity,
    dedupWindowMs: sink.dedupWindowMs,
    queueSize: sink.queueSize,
    timeoutMs: sink.timeoutMs,
    retry: { attempts: sink.maxAttempts, baseDelayMs: 1000, maxDelayMs: 30_000 },
  };
}

/** The forge reporter's settings, its token read; undefined without `commitStatus:`. */
export async function resolveCommitStatus(config: NotifyConfig, env: NodeJS.ProcessEnv): Promise<CommitStatusSettings | undefined> {
  const forge = config.commitStatus;
  if (forge === undefined) return undefined;
  const token = await readSecret(forge.token, env);
  return {
    target: { forge: forge.forge, baseUrl: forge.baseUrl ?? defaultBaseUrl(forge.forge)!, repository: forge.repository, token },
    contexts: forge.contexts,
    contextPrefix: forge.contextPrefix,
    ...(forge.targetUrl ? { targetUrl: forge.targetUrl } : {}),
    queueSize: forge.queueSize,
    timeoutMs: forge.timeoutMs,
    retry: { attempts: forge.maxAttempts, baseDelayMs: 1000, maxDelayMs: 30_000 },
  };
}
