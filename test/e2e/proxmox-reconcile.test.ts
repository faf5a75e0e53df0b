/** The shared end-to-end scenarios with the Proxmox provider (undici, https) against the PVE simulator. */
import { proxmox } from '../clouds/proxmox.ts';
import { describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('proxmox', proxmox);
