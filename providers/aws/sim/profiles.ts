/**
 * A RunInstances' IAM instance profile as EC2 checks it: by name or ARN, and, when the simulator
 * knows which profiles the caller may pass, EC2's refusal of any other (UnauthorizedOperation: the
 * caller lacks iam:PassRole on the profile's role).
 */
import type { Ec2Context } from './context.ts';
import type { QueryParams } from './query.ts';
import { Ec2SimError } from './xml.ts';

const NAME = /^[\w+=,.@-]{1,128}$/;

/** The profile's name (undefined: none asked for); throws as EC2 does for one the caller may not pass. */
export function launchProfile(ctx: Ec2Context, params: QueryParams): string | undefined {
  const arn = params.get('IamInstanceProfile.Arn');
  const name = params.get('IamInstanceProfile.Name') ?? arn?.split('/').pop();
  if (name === undefined) return undefined;
  if (!NAME.test(name))
    throw new Ec2SimError(
      'InvalidParameterValue',
      `Value (${name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
    );
  const passable = ctx.settings.instanceProfiles;
  if (passable !== undefined && !passable.includes(name))
    throw new Ec2SimError(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. User is not authorized to perform: iam:PassRole on resource: arn:aws:iam::${ctx.ownerId}:role/${name}`,
      403,
    );
  return name;
}
