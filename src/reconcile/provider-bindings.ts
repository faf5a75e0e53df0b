/**
 * The trust boundary between the fleet repository and the operator: turns a Provider document (Git:
 * the cloud scope) and the operator's binding (`providers.<name>` in the daemon config, plus the
 * operator's DROVER_ENDPOINT_* / DROVER_CA_FILE_* variables and --endpoint flags) into what a
 * provider is opened with. Nothing in a Provider document can choose an endpoint, a CA, a credential
 * or a file to read; a Provider the operator did not bind gets the cloud's ambient chain against its
 * real endpoint (AWS, GCP, Azure), or is refused (Proxmox always; every type with requireBinding).
 */
import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { CREDENTIAL_FILE_FIELDS } from '../contract/provider.ts';
import type { ProviderCredentials } from '../contract/provider.ts';
import { endpointProblem } from '../config/binding-checks.ts';
import type { ProviderBinding } from '../config/types.ts';
import { shownPath } from '../contract/shown-path.ts';
import type { ProviderConfig } from '../contract/fleet.ts';
import { ReconcileError } from './errors.ts';

/** What the operator says about providers, and where their secrets may not live. */
export interface BindingSources {
  /** `providers.<name>` of the daemon config (or of `--config` for plan/apply). */
  readonly bindings: Readonly<Record<string, ProviderBinding>>;
  /** `providers.requireBinding`: refuse every Provider without a binding. */
  readonly requireBinding?: boolean;
  /** `--endpoint name=url` flags (plan/apply); win over the binding's endpoint. */
  readonly endpointFlags?: ReadonlyMap<string, string>;
  /** The daemon's environment: DROVER_ENDPOINT_<NAME> and DROVER_CA_FILE_<NAME> fill what the binding leaves unset. */
  readonly env: NodeJS.ProcessEnv;
  /**
   * Directories no credential or CA file may lie in (after resolving symlinks): the state directory
   * and the fleet checkout, both of which a commit can write to.
   */
  readonly untrustedRoots: readonly string[];
  /** Receives the insecureSkipVerify warning at every open. */
  readonly warn?: (fields: Record<string, unknown>, message: string) => void;
}

/** What a provider is opened with. */
export interface ResolvedBinding {
  readonly endpoint?: string;
  readonly caPem?: string;
  readonly insecureSkipVerify?: boolean;
  readonly credentials?: ProviderCredentials;
  readonly listLagMs?: number;
}

/** Env variable that overrides a provider's endpoint: DROVER_ENDPOINT_ + name in upper case, '-' → '_'. */
export function endpointEnvName(provider: string): string {
  return `DROVER_ENDPOINT_${provider.toUpperCase().replace(/-/g, '_')}`;
}

/** Env variable naming a PEM CA file a provider trusts: DROVER_CA_FILE_ + name as in {@link endpointEnvName}. */
export function caFileEnvName(provider: string): string {
  return `DROVER_CA_FILE_${provider.toUpperCase().replace(/-/g, '_')}`;
}

/** Env variable that binds a provider name to its type: DROVER_PROVIDERS__ + name as in {@link endpointEnvName} + __TYPE. */
export function typeEnvName(provider: string): string {
  return `DROVER_PROVIDERS__${provider.toUpperCase().replace(/-/g, '_')}__TYPE`;
}

/** A Provider the operator's configuration does not (or not validly) bind: Stalled until the operator acts. */
export function notBound(name: string, message: string): ReconcileError {
  return new ReconcileError('stalled', 'ProviderNotBound', `provider ${name}: ${message}`);
}

/** A binding whose files or endpoint cannot be used: Stalled, naming the setting. */
function invalid(name: string, message: string): ReconcileError {
  return new ReconcileError('stalled', 'ProviderBindingInvalid', `provider ${name}: ${message}`);
}

/** The binding of `config`, resolved; rejects with a stalled ReconcileError. */
export async function resolveBinding(config: ProviderConfig, sources: BindingSources): Promise<ResolvedBinding> {
  const name = config.name;
  const binding = Object.hasOwn(sources.bindings, name) ? sources.bindings[name] : undefined;
  if (binding === undefined) unbound(config, sources);
  if (binding?.type !== undefined && binding.type !== config.type) {
    throw notBound(
      name,
      `the operator's binding providers.${name} is for type ${binding.type}, but the Provider document is ${config.type}; a binding is never handed to another cloud (fix the document, or the binding's type)`,
    );
  }
  if (binding === undefined) refuseTypelessVariables(config, sources.env);
  const endpoint = endpointOf(name, binding, sources);
  const caPem = await caOf(name, binding, sources);
  const credentials = binding?.credentials;
  if (credentials !== undefined) await checkCredentialFiles(name, credentials, sources.untrustedRoots);
  if (binding?.insecureSkipVerify === true) {
    sources.warn?.(
      { provider: name, endpoint },
      'TLS verification disabled for this provider (providers.<name>.insecureSkipVerify): anyone on the network path can impersonate it and read its credentials',
    );
  }
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(caPem === undefined ? {} : { caPem }),
    ...(binding?.insecureSkipVerify === true ? { insecureSkipVerify: true } : {}),
    ...(credentials === undefined ? {} : { credentials }),
    ...(binding?.listLagSeconds === undefined ? {} : { listLagMs: binding.listLagSeconds * 1000 }),
  };
}

/** A Provider without a binding: refused under lockdown and for Proxmox; otherwise the ambient chain. */
function unbound(config: ProviderConfig, sources: BindingSources): void {
  const name = config.name;
  if (sources.requireBinding === true) {
    throw notBound(
      name,
      `the operator's config has no binding for it and providers.requireBinding is true; an operator adds providers.${name} (type: ${config.type}, credentials…) to drover.yaml to allow it`,
    );
  }
  if (config.type === 'proxmox') {
    throw notBound(
      name,
      `a Proxmox provider needs a binding in the operator's config: add providers.${name}: { type: proxmox, endpoint: https://HOST:8006, credentials: { tokenId: USER@REALM!TOKEN, secretFile: /path/outside/the/state/dir } } to drover.yaml`,
    );
  }
}

/**
 * DROVER_ENDPOINT_<NAME> / DROVER_CA_FILE_<NAME> say nothing about the cloud: without a binding that
 * fixes the name's type, a commit could change the Provider's type and send another cloud's ambient
 * credentials to that endpoint. They apply only beside a typed binding.
 */
function refuseTypelessVariables(config: ProviderConfig, env: NodeJS.ProcessEnv): void {
  for (const variable of [endpointEnvName(config.name), caFileEnvName(config.name)]) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    throw invalid(
      config.name,
      `${variable} is set, but the operator's config does not bind provider ${config.name} to a type: set ${typeEnvName(config.name)} (or providers.${config.name}.type in drover.yaml) to the type of the cloud this endpoint serves (the Provider document says ${config.type}), so it is never handed to another cloud's credentials`,
    );
  }
}

function endpointOf(name: string, binding: ProviderBinding | undefined, sources: BindingSources): string | undefined {
  const variable = endpointEnvName(name);
  const fromEnv = sources.env[variable];
  const flag = sources.endpointFlags?.get(name);
  const endpoint = flag ?? binding?.endpoint ?? (fromEnv === '' ? undefined : fromEnv);
  if (endpoint === undefined) return undefined;
  const problem = endpointProblem(endpoint);
  const where = flag !== undefined ? `--endpoint ${name}=…` : binding?.endpoint !== undefined ? `providers.${name}.endpoint` : variable;
  if (problem !== undefined) throw invalid(name, `${where} ${problem}`);
  return endpoint;
}

async function caOf(name: string, binding: ProviderBinding | undefined, sources: BindingSources): Promise<string | undefined> {
  const variable = caFileEnvName(name);
  const fromEnv = sources.env[variable];
  const file = binding?.caFile ?? (fromEnv === '' ? undefined : fromEnv);
  if (file === undefined) return undefined;
  const setting = binding?.caFile !== undefined ? `providers.${name}.caFile` : variable;
  await checkTrustedPath(name, setting, file, sources.untrustedRoots);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw invalid(
      name,
      `${setting}: cannot read the CA file ${shownPath(file)} (${(error as NodeJS.ErrnoException).code ?? 'EIO'}); point it at a PEM file`,
    );
  }
}

async function checkCredentialFiles(name: string, credentials: ProviderCredentials, roots: readonly string[]): Promise<void> {
  for (const field of CREDENTIAL_FILE_FIELDS) {
    const file = credentials[field];
    if (file !== undefined) await checkTrustedPath(name, `providers.${name}.credentials.${field}`, file, roots);
  }
}

/**
 * Refuses a file that resolves (symlinks followed) into a directory a commit can write to: the state
 * directory holds the fleet's checkout, and a CA or key file there would be the commit's choice.
 */
async function checkTrustedPath(name: string, setting: string, file: string, roots: readonly string[]): Promise<void> {
  const real = await realpath(file).catch(() => path.resolve(file));
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => path.resolve(root));
    const relative = path.relative(realRoot, real);
    if (relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))) {
      throw invalid(
        name,
        `${setting} ${shownPath(file)} lies inside ${shownPath(root)} (the state directory or the fleet checkout), where a commit can put files; keep credentials and CAs outside them`,
      );
    }
  }
}
