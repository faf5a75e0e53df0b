/** The shared end-to-end scenarios with the real EC2 client against the EC2 simulator. */
import { aws } from '../clouds/aws.ts';
import { describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('aws', aws);
