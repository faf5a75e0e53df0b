/**
 * The fleet JSON Schemas, compiled once. Validators report every error (allErrors) so the loader
 * can list all problems at once.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import * as formatsModule from 'ajv-formats';
import commonSchema from '../../schemas/common.schema.json' with { type: 'json' };
import fleetSchema from '../../schemas/fleet.schema.json' with { type: 'json' };
import imageSchema from '../../schemas/image.schema.json' with { type: 'json' };
import providerSchema from '../../schemas/provider.schema.json' with { type: 'json' };
import vmgroupSchema from '../../schemas/vmgroup.schema.json' with { type: 'json' };

export type { ErrorObject };

/** The document kinds of a fleet repository. */
export type DocumentKind = 'Fleet' | 'Provider' | 'Image' | 'VmGroup';
export const DOCUMENT_KINDS: readonly DocumentKind[] = ['Fleet', 'Provider', 'Image', 'VmGroup'];

/** The raw schema objects, for defaults and descriptions. */
export const SCHEMAS = {
  common: commonSchema,
  Fleet: fleetSchema,
  Provider: providerSchema,
  Image: imageSchema,
  VmGroup: vmgroupSchema,
} as const;

type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats = ((formatsModule as unknown as { default: AddFormats }).default ?? formatsModule) as AddFormats;

let compiled: Record<DocumentKind, ValidateFunction> | undefined;

/** Validator per kind, compiled on first use and cached for the life of the process. */
export function validators(): Record<DocumentKind, ValidateFunction> {
  if (compiled) return compiled;
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, discriminator: true, verbose: true });
  addFormats(ajv);
  ajv.addSchema(commonSchema);
  compiled = {
    Fleet: ajv.compile(fleetSchema),
    Provider: ajv.compile(providerSchema),
    Image: ajv.compile(imageSchema),
    VmGroup: ajv.compile(vmgroupSchema),
  };
  return compiled;
}
