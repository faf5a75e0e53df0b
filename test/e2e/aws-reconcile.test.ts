/** The shared end-to-end scenarios with the real EC2 client against the EC2 simulator. */
import { awsAdapter } from '../helpers/adapters/aws.ts';
import { describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('aws', awsAdapter);
