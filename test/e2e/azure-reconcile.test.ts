/** The shared end-to-end scenarios with the real Azure clients against the ARM simulator. */
import { azureAdapter } from '../helpers/adapters/azure.ts';
import { describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('azure', azureAdapter);
