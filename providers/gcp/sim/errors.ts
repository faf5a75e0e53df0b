/**
 * Compute Engine's error JSON as the v1 REST API writes it:
 * `{ error: { code, message, errors: [{ message, domain, reason }], status, details? } }`.
 * Quota and rate-limit errors also carry a google.rpc.ErrorInfo in `details` (the 7.x client reads
 * its `reason`, since it drops `errors[]`).
 */
import type { SimResponse } from '../../../src/sim/engine.ts';

/** gRPC-style status names GCE puts in `error.status`, by HTTP status. */
const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** A google.rpc.ErrorInfo detail. */
export interface ErrorInfo {
  readonly reason: string;
  readonly domain: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** An error a handler raises; rendered as GCE error JSON. */
export class GceSimError extends Error {
  override readonly name = 'GceSimError';
  readonly status: number;
  /** `errors[0].reason`, e.g. notFound, alreadyExists, invalid, rateLimitExceeded. */
  readonly reason: string;
  readonly domain: string;
  readonly errorInfo: ErrorInfo | undefined;

  constructor(status: number, reason: string, message: string, options: { domain?: string; errorInfo?: ErrorInfo } = {}) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.domain = options.domain ?? 'global';
    this.errorInfo = options.errorInfo;
  }
}

/** Renders an error response. */
export function errorResponse(error: GceSimError): SimResponse {
  const body: Record<string, unknown> = {
    code: error.status,
    message: error.message,
    errors: [{ message: error.message, domain: error.domain, reason: error.reason }],
    status: STATUS_NAMES[error.status] ?? 'UNKNOWN',
  };
  if (error.errorInfo !== undefined) {
    body['details'] = [
      { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', ...error.errorInfo, metadata: error.errorInfo.metadata ?? {} },
    ];
  }
  return jsonResponse(error.status, { error: body });
}

/** A JSON response in GCE's content type. */
export function jsonResponse(status: number, value: unknown): SimResponse {
  return { status, headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify(value) };
}

/** 404 for a resource path such as `projects/p/zones/z/instances/n`. */
export function notFound(resource: string): GceSimError {
  return new GceSimError(404, 'notFound', `The resource '${resource}' was not found`);
}

/** 400 for a field with a bad value. */
export function invalidField(field: string, value: string, why: string): GceSimError {
  return new GceSimError(400, 'invalid', `Invalid value for field '${field}': '${value}'. ${why}`);
}

/** 403 rateLimitExceeded for a per-minute rate quota (which quota metric ran out). */
export function rateLimited(metric: string, project: string): GceSimError {
  return new GceSimError(
    403,
    'rateLimitExceeded',
    `Quota exceeded for quota metric '${metric}' and limit '${metric} per minute' of service 'compute.googleapis.com' for consumer 'project_number:${projectNumber(project)}'.`,
    {
      domain: 'usageLimits',
      errorInfo: {
        reason: 'RATE_LIMIT_EXCEEDED',
        domain: 'googleapis.com',
        metadata: {
          service: 'compute.googleapis.com',
          quota_metric: `compute.googleapis.com/${metric.toLowerCase().replaceAll(' ', '_')}`,
          consumer: `projects/${projectNumber(project)}`,
        },
      },
    },
  );
}

/** 403 rateLimitExceeded with ErrorInfo CONCURRENT_OPERATIONS_QUOTA_EXCEEDED (too many running operations). */
export function concurrentOperationsExceeded(project: string, region: string): GceSimError {
  return new GceSimError(403, 'rateLimitExceeded', 'Rate Limit Exceeded', {
    domain: 'usageLimits',
    errorInfo: {
      reason: 'CONCURRENT_OPERATIONS_QUOTA_EXCEEDED',
      domain: 'compute.googleapis.com',
      metadata: { containerType: 'PROJECT', containerId: projectNumber(project), location: region },
    },
  });
}

/** 403 quotaExceeded (a resource quota, returned inline). */
export function quotaExceeded(metric: string, limit: number, region: string): GceSimError {
  return new GceSimError(403, 'quotaExceeded', `Quota '${metric}' exceeded. Limit: ${limit.toFixed(1)} in region ${region}.`, {
    domain: 'usageLimits',
    errorInfo: { reason: 'QUOTA_EXCEEDED', domain: 'compute.googleapis.com', metadata: { quota_metric: metric, region } },
  });
}

/** A stable 12-digit project number for a project id. */
export function projectNumber(project: string): string {
  let h = 7;
  for (const c of project) h = (h * 31 + c.charCodeAt(0)) % 1_000_000_000_000;
  return String(100_000_000_000 + (h % 900_000_000_000));
}
