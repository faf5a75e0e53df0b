/**
 * Defaults come from the schemas' `default` keywords, so the documentation editors show and the
 * behaviour drover applies cannot disagree.
 */
import { SCHEMAS } from './schemas.ts';

type PropertyMap = Record<string, { default?: unknown }>;

function defaultsOf(properties: PropertyMap): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(properties)) if (schema.default !== undefined) out[key] = schema.default;
  return Object.freeze(out);
}

const group = SCHEMAS.VmGroup.$defs;
const fleet = SCHEMAS.Fleet.$defs;

export const ROLLOUT_DEFAULTS = defaultsOf(group.rollout.properties as PropertyMap);
export const CANARY_DEFAULTS = defaultsOf(group.rollout.properties.canary.properties as PropertyMap);
export const HEALTH_DEFAULTS = defaultsOf(group.health.properties as PropertyMap);
export const HTTP_PROBE_DEFAULTS = defaultsOf(group.health.properties.http.properties as PropertyMap);
export const FLEET_DEFAULTS = defaultsOf(fleet.fleetSpec.properties as PropertyMap);
export const GUARD_DEFAULTS = defaultsOf(fleet.deletionGuard.properties as PropertyMap);
export const DRIFT_DEFAULTS = defaultsOf(group.drift.properties as PropertyMap);
export const GROUP_DEFAULTS = defaultsOf(group.groupSpec.properties as PropertyMap);
