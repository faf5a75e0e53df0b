/** The shared end-to-end scenarios with the real Compute Engine client against the GCE simulator. */
import { gcpAdapter } from '../helpers/adapters/gcp.ts';
import { describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('gcp', gcpAdapter);
