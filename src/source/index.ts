/**
 * The Git source: follows a fleet repository safely and keeps the last known good desired state.
 * The daemon wires a {@link GitSource} into its loop (`desired`, `status()`, `subscribe()`), mounts
 * `webhookHandler()` on its HTTP server, and exposes `trigger()` to the CLI and API.
 */
export { GitSource } from './git-source.ts';
export type { GitSourceDeps, SourceLogger, TriggerReason, WebhookOptions } from './git-source.ts';
export { resolveConfig } from './config.ts';
export type { GitSourceConfig, ResolvedConfig, RewindPolicy, SourceLimits } from './config.ts';
export type { RefSelector } from './refs.ts';
export type { SourceAuth } from './git-env.ts';
export type { VerifyConfig, VerifyMode, SignatureInfo } from './verify.ts';
export type { AppliedRevision, RewindInfo, SourceEvent, SourceListener, SourceStatus, SyncResult } from './status.ts';
export {
  CheckoutFailed,
  CheckoutTooLarge,
  FetchFailed,
  FetchTimeout,
  HistoryRewound,
  InvalidConfig,
  InvalidRevision,
  RefNotFound,
  SourceError,
  SourceInternalError,
  UnsafeContent,
  UnsafeRef,
  UnsafeUrl,
  VerificationFailed,
  isSourceError,
  needsConfigFix,
  CONFIG_REASONS,
} from './errors.ts';
export type { SourceErrorInfo, SourceErrorReason, VerificationDetail } from './errors.ts';
export { Redactor, displayUrl, redactPatterns } from './redact.ts';
export { checkUrl, checkRefName, checkSubPath, checkCommitId } from './safety.ts';
export { createWebhookHandler } from './webhook-http.ts';
export type { WebhookHandler, WebhookHandlerOptions } from './webhook-http.ts';
export { evaluateWebhook, ReplayCache } from './webhook.ts';
export type {
  HeaderMap,
  WebhookOutcome,
  WebhookProvider,
  WebhookReason,
  WebhookRequest,
  WebhookResult,
  WebhookSettings,
  WebhookTarget,
} from './webhook.ts';
export type { Timers } from './triggers.ts';
