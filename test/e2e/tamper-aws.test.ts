/** Tamper detection against the EC2 simulator with the real EC2 client (tamper-scenarios.ts). */
import { aws } from '../clouds/aws.ts';
import { describeTamperScenarios } from './tamper-scenarios.ts';

describeTamperScenarios(
  'aws',
  aws,
  [
    { title: 'InstanceType changed', changes: { instanceType: 't3.large' }, fields: ['machineType'] },
    { title: 'ImageId changed', changes: { imageId: 'ami-0123456789abcdef0' }, fields: ['image'] },
    {
      title: 'subnet and security groups changed',
      changes: { subnetId: 'subnet-0fffffff', securityGroups: ['sg-0badbad0'] },
      fields: ['subnet', 'securityGroups'],
    },
    { title: 'an IAM instance profile attached', changes: { iamInstanceProfile: 'admin' }, fields: ['instanceProfile'] },
    { title: 'IMDSv1 re-enabled', changes: { httpTokens: 'optional' }, fields: ['metadataOptions'] },
    { title: "the group's tag changed", changes: { tags: { team: 'someone-else' } }, fields: ['tags.team'], secret: 'someone-else' },
  ],
  // Each zone's subnet and the security groups named, so that changing them is a modification.
  `  machine: { type: t3.small }\n  placement:\n    subnets: { eu-west-1a: subnet-00000061, eu-west-1b: subnet-00000062, eu-west-1c: subnet-00000063 }\n    securityGroups: [sg-0a1b2c3d]\n`,
);
