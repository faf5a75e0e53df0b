/**
 * Per-instance variables in a group's userData: `${drover.NAME}`, filled by each provider at launch
 * from the instance's own ownership record (group, slot, zone, revision …), never from the daemon's
 * environment or files. The template hash is computed over the text as written in Git, so filling
 * changes no hash and a rollout does not churn.
 *
 * Syntax: `${drover.NAME}`. Only text starting `${drover` is drover's: `${HOME}`, `${env.HOME}`,
 * `{{ v1.instance_id }}` (cloud-init jinja) and `$(…)` are left as written. A shell cannot use the
 * form (a '.' in a parameter name is a "bad substitution"), so it never collides with a script.
 * `$${drover.NAME}` is the escape: it is sent as the literal text `${drover.NAME}`.
 */
import { ProviderError } from './errors.ts';
import type { CreateRequest, ObservedInstance, Ownership } from './provider.ts';

/** The variables drover fills, with what each holds (README "Secrets at run time"). */
export const USER_DATA_VARIABLES = {
  fleet: 'the fleet id (Fleet metadata.name)',
  group: "the instance's group",
  slot: "the instance's slot number in its group and template",
  zone: 'the zone it is launched in; empty where the cloud picks (Azure without zones)',
  revision: 'the Git revision that launched it',
  imageDigest: "the Image's digest (sha256:…)",
  templateHash: "the group's 12-hex template hash",
  name: "the instance's name",
} as const;

/** A variable drover fills in userData. */
export type UserDataVariable = keyof typeof USER_DATA_VARIABLES;

/** The values of one instance's variables. */
export type UserDataValues = Readonly<Record<UserDataVariable, string>>;

/** A `${drover…}` reference that drover cannot fill: unknown name or malformed. */
export interface UserDataProblem {
  /** 1-based line within the userData text. */
  readonly line: number;
  /** The reference as written (never anything else of the text, which may be long). */
  readonly reference: string;
  /** The variable name it asks for ('' when malformed). */
  readonly name: string;
}

/**
 * Every `${drover…}` in a text, escaped or not. Group 1: the escape '$'; group 2: what follows
 * `drover` up to the closing brace or the end of the line; group 3: the brace, if any.
 */
const REFERENCE = /(\$?)\$\{\s*drover\b([^}\n]*)(\}?)/g;

/** References drover cannot fill, in text order; empty when every reference is known. */
export function userDataProblems(text: string): UserDataProblem[] {
  const problems: UserDataProblem[] = [];
  for (const match of text.matchAll(REFERENCE)) {
    if (match[1] === '$') continue;
    const name = variableOf(match[2] ?? '', match[3] ?? '');
    if (name !== undefined && Object.hasOwn(USER_DATA_VARIABLES, name)) continue;
    problems.push({
      line: text.slice(0, match.index).split('\n').length,
      reference: match[0].slice(0, 80),
      name: name ?? '',
    });
  }
  return problems;
}

/**
 * The text with every `${drover.NAME}` replaced by its value and every `$${drover…}` unescaped.
 * Returns undefined for a reference validation would have refused (a template from an older
 * drover's state), so nothing half-filled is ever launched.
 */
export function fillUserData(text: string, values: UserDataValues): string | undefined {
  let refused = false;
  const filled = text.replace(REFERENCE, (whole: string, escape: string, rest: string, brace: string) => {
    if (escape === '$') return `\${drover${rest}${brace}`;
    const name = variableOf(rest, brace);
    if (name !== undefined && Object.hasOwn(USER_DATA_VARIABLES, name)) return values[name as UserDataVariable];
    refused = true;
    return whole;
  });
  return refused ? undefined : filled;
}

/**
 * The userData one launch sends: the template's text filled with the request's own values
 * (undefined when the template has none); `name`: the instance's name where a cloud's differs from
 * the request's (a GCE generation's). Throws ProviderError Invalid (UnknownUserDataVariable)
 * for a reference drover cannot fill; the message names the group, never the text.
 */
export function launchUserData(request: CreateRequest, provider: string, name = request.name): string | undefined {
  const text = request.template.userData;
  if (text === undefined) return undefined;
  const filled = fillUserData(text, userDataValues(request.owner, request.zone, name));
  if (filled !== undefined) return filled;
  const first = userDataProblems(text)[0];
  throw new ProviderError({
    kind: 'Invalid',
    reason: 'UnknownUserDataVariable',
    provider,
    operation: 'create',
    message: `group ${request.owner.group}: userData line ${first?.line ?? '?'} has ${first?.reference ?? 'a reference'} drover cannot fill; known: ${knownList()}`,
  });
}

/**
 * The userData a launch of `instance` sent for `text`: filled with the instance's own ownership
 * values, zone and name, as create filled it (tamper detection compares with what the cloud
 * reports). The text as written when the instance lacks an ownership value (labels edited out of
 * band: nothing to fill it with) or holds a reference drover cannot fill.
 */
export function instanceUserData(text: string, instance: ObservedInstance): string {
  const { group, templateHash, imageDigest, revision, slot } = instance;
  if (group === undefined || templateHash === undefined || imageDigest === undefined || revision === undefined || slot === undefined)
    return text;
  const owner: Ownership = { fleet: instance.fleet, group, templateHash, imageDigest, revision, slot };
  return fillUserData(text, userDataValues(owner, instance.zone, instance.name)) ?? text;
}

/** The values for one launch, from its ownership record, zone and name. */
export function userDataValues(owner: Ownership, zone: string, name: string): UserDataValues {
  return {
    fleet: owner.fleet,
    group: owner.group,
    slot: String(owner.slot),
    zone,
    revision: owner.revision,
    imageDigest: owner.imageDigest,
    templateHash: owner.templateHash,
    name,
  };
}

/** `${drover.fleet}, ${drover.group}, …` for messages. */
export function knownList(): string {
  return Object.keys(USER_DATA_VARIABLES)
    .map((v) => `\${drover.${v}}`)
    .join(', ');
}

/** The name a closed, space-free reference asks for (known or not); undefined when malformed. */
function variableOf(rest: string, brace: string): string | undefined {
  if (brace !== '}') return undefined;
  return /^\.([^\s${}]+)$/.exec(rest)?.[1];
}
