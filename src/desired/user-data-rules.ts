/**
 * The `${drover.NAME}` references of a group's userData (src/contract/user-data.ts): each one
 * drover cannot fill is a problem at its own line of the fleet file (exact for a literal block
 * scalar, `userData: |`; otherwise at the field, the message giving the line within userData).
 */
import { isScalar, Scalar } from 'yaml';
import { didYouMean } from './did-you-mean.ts';
import type { ValidDocument } from './documents.ts';
import { positionOf } from './documents.ts';
import type { Problem } from './problems.ts';
import { knownList, USER_DATA_VARIABLES, userDataProblems } from '../contract/user-data.ts';

type GroupDocument = Extract<ValidDocument, { kind: 'VmGroup' }>;

const PATH = ['spec', 'userData'] as const;

/** Problems for references in the group's userData that drover cannot fill. */
export function userDataRuleProblems(group: GroupDocument): Problem[] {
  const text = group.value.spec.userData;
  if (text === undefined) return [];
  const found = userDataProblems(text);
  if (found.length === 0) return [];
  const field = positionOf(group, PATH);
  const literal = isLiteralBlock(group);
  return found.map((p) => ({
    file: group.parsed.file,
    // A literal block's text starts on the line after its `|` header, one text line per file line.
    line: literal ? field.line + p.line : field.line,
    col: literal ? 1 : field.col,
    path: `/${PATH.join('/')}`,
    code: 'rule.userDataVariable',
    message: `'spec.userData' line ${p.line}: ${describe(p.reference, p.name)}; drover fills only ${knownList()} (write $\${drover.…} for the literal text)`,
  }));
}

function describe(reference: string, name: string): string {
  if (name === '') return `${reference} is not a drover variable reference (write \${drover.NAME}, no spaces)`;
  return `unknown variable ${reference}${didYouMean(name, Object.keys(USER_DATA_VARIABLES))}; drover never fills userData from its own environment or files`;
}

function isLiteralBlock(group: GroupDocument): boolean {
  const node = group.parsed.doc.getIn(PATH, true);
  return isScalar(node) && node.type === Scalar.BLOCK_LITERAL;
}
