/**
 * Tamper detection's reconcile side: each observed instance that reports launch facts is compared
 * with what its own template (the group's desired one, else the one remembered for its hash)
 * would give on its provider (Provider.expectedFacts), by the planner's pure comparer; the fields
 * that differ are set on the instance (`modified`) for the planner to replace or report. No cloud
 * call: the facts come with the listing.
 */
import type { DesiredState, LaunchTemplate } from '../contract/fleet.ts';
import type { LaunchFacts } from '../contract/launch-facts.ts';
import type { Provider } from '../contract/provider.ts';
import type { PlannedInstance } from '../plan/index.ts';
import { modifiedFields } from '../plan/tamper.ts';
import type { TemplateStore } from './template-store.ts';

/** `planned` with `modified` set on each instance whose facts differ from its template's. */
export function withModifications(
  state: DesiredState,
  planned: readonly PlannedInstance[],
  providers: ReadonlyMap<string, Provider>,
  templates: TemplateStore,
): PlannedInstance[] {
  return planned.map((inst) => {
    const facts = inst.launch;
    if (facts === undefined) return inst;
    const template = templateOf(state, templates, inst);
    const provider = providers.get(inst.provider);
    const expected: LaunchFacts = (template && provider?.expectedFacts?.(template, inst.zone)) || {};
    const fields = modifiedFields(expected, facts);
    return fields.length === 0 ? inst : { ...inst, modified: fields };
  });
}

/** The instance's own template: the desired one when its hash is the group's, else the remembered one. */
function templateOf(state: DesiredState, templates: TemplateStore, inst: PlannedInstance): LaunchTemplate | undefined {
  const group = inst.group === undefined ? undefined : state.groups[inst.group];
  if (group === undefined || inst.templateHash === undefined) return undefined;
  return inst.templateHash === group.templateHash ? group.template : templates.get(group.name, inst.templateHash);
}
