/** The shared end-to-end scenarios with the real Compute Engine client against the GCE simulator. */
import { gcp } from '../clouds/gcp.ts';
import { describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('gcp', gcp);
