/** The shared end-to-end scenarios with the Proxmox provider (undici, https) against the PVE simulator. */
import { proxmoxAdapter } from '../helpers/adapters/proxmox.ts';
import { describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('proxmox', proxmoxAdapter);
