/**
 * Compute Engine's input rules, enforced as GCE does (400 invalid naming the field): resource
 * names, labels, metadata, requestIds.
 */
import { invalidField } from './errors.ts';

/** RFC 1035 resource names: `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`. */
export const NAME_PATTERN = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const METADATA_KEY = /^[a-zA-Z0-9_-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Checks a resource name. */
export function validateName(field: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw invalidField(field, String(name ?? ''), "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  }
  return name;
}

/** GCE label rules: ≤ 64 labels; keys `[a-z][a-z0-9_-]{0,62}`, values `[a-z0-9_-]{0,63}`. */
export function validateLabels(labels: unknown, field: string): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (typeof labels !== 'object' || Array.isArray(labels)) throw invalidField(field, String(labels), 'Labels must be a map.');
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > 64) throw invalidField(field, `${entries.length} labels`, 'A resource can have at most 64 labels.');
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key))
      throw invalidField(
        `${field}.key`,
        key,
        'Label keys must start with a lowercase letter and contain only lowercase letters, digits, underscores and dashes (at most 63 characters).',
      );
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      throw invalidField(
        `${field}.value`,
        String(value),
        'Label values can contain only lowercase letters, digits, underscores and dashes (at most 63 characters).',
      );
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** Metadata items: keys `[a-zA-Z0-9_-]{1,128}`, unique, values ≤ 256 KiB, total ≤ 512 KiB. */
export function validateMetadata(metadata: unknown): { key: string; value: string }[] {
  if (metadata === undefined || metadata === null) return [];
  const items = (metadata as { items?: unknown }).items;
  if (items === undefined) return [];
  if (!Array.isArray(items)) throw invalidField('resource.metadata.items', String(items), 'Must be a list.');
  const seen = new Set<string>();
  let total = 0;
  const out: { key: string; value: string }[] = [];
  for (const item of items as { key?: unknown; value?: unknown }[]) {
    const key = String(item.key ?? '');
    const value = typeof item.value === 'string' ? item.value : '';
    if (!METADATA_KEY.test(key)) throw invalidField('resource.metadata.items.key', key, 'Metadata keys must match [a-zA-Z0-9-_]{1,128}.');
    if (seen.has(key)) throw invalidField('resource.metadata', key, 'Duplicate metadata key.');
    if (value.length > 256 * 1024) throw invalidField('resource.metadata.items.value', key, 'Metadata values are limited to 256 KB.');
    total += key.length + value.length;
    seen.add(key);
    out.push({ key, value });
  }
  if (total > 512 * 1024) throw invalidField('resource.metadata', `${total} bytes`, 'Metadata is limited to 512 KB in total.');
  return out;
}

/** A requestId must be a UUID other than the zero UUID. */
export function validateRequestId(requestId: string | null): string | undefined {
  if (requestId === null || requestId === '') return undefined;
  if (!UUID.test(requestId) || requestId === ZERO_UUID)
    throw invalidField('requestId', requestId, 'The request ID must be a valid UUID with the exception that zero UUID is not supported.');
  return requestId.toLowerCase();
}
