/**
 * Child process of converge-bench.ts: the EC2 simulator on its own core, with an unbounded tally of
 * API calls (the engine's call log keeps only the last 10,000) and convergence checks over the
 * world, answered over IPC. Not a bench itself (run.ts runs only *-bench.ts).
 */
import { EC2_BUCKETS, startEc2Simulator } from '../../providers/aws/sim.ts';
import { TAG } from '../../providers/aws/tags.ts';
import type { CallRecord } from '../../src/sim/engine.ts';

const factor = Number(process.env['CONVERGE_FACTOR'] ?? '100');
const latencies = JSON.parse(process.env['CONVERGE_LATENCIES'] ?? '{}') as Record<string, number>;
const images = JSON.parse(process.env['CONVERGE_IMAGES'] ?? '[]') as { id: string; digest: string }[];

const sim = await startEc2Simulator({ region: 'eu-west-1', factor, latencies, throttling: false });
for (const image of images) sim.addImage({ id: image.id, tags: { [TAG.digest]: image.digest } });
const calls: CallRecord[] = [];
const record = sim.engine.calls.record.bind(sim.engine.calls);
sim.engine.calls.record = (r: CallRecord): void => {
  calls.push(r);
  record(r);
};

type Request =
  | { id: number; kind: 'clock' }
  | { id: number; kind: 'throttling'; enabled: boolean }
  | { id: number; kind: 'converged'; fleet: string; templates: Record<string, string>; replicas: number }
  | { id: number; kind: 'calls'; since: number }
  | { id: number; kind: 'timeline'; sinceAt: number; fleet: string; templates: Record<string, string> }
  | { id: number; kind: 'close' };

process.on('message', (message: Request) => {
  const reply = (body: unknown): void => void process.send!({ id: message.id, body });
  switch (message.kind) {
    case 'clock':
      return reply({ now: sim.clock.now(), url: sim.url });
    case 'throttling':
      sim.throttler.configure(EC2_BUCKETS); // every bucket starts full
      sim.throttler.enabled = message.enabled;
      return reply({ now: sim.clock.now() });
    case 'converged':
      return reply(converged(message.fleet, message.templates, message.replicas));
    case 'calls':
      return reply({ now: sim.clock.now(), calls: calls.filter((c) => c.at >= message.since) });
    case 'timeline':
      return reply(finishTimes(message.sinceAt, message.fleet, message.templates));
    case 'close':
      void sim.close().then(() => {
        reply({});
        process.exit(0);
      });
  }
});
process.send!({ id: 0, body: { now: sim.clock.now(), url: sim.url } });

/** Groups not yet on their template with `replicas` running and nothing else live. */
function converged(fleet: string, templates: Record<string, string>, replicas: number): { now: number; pending: number; live: number } {
  const byGroup = new Map<string, { running: number; other: number }>();
  let live = 0;
  for (const i of sim.world.list()) {
    if (i.tags[TAG.fleet] !== fleet || i.state === 'terminating' || i.state === 'terminated') continue;
    live++;
    const g = i.tags[TAG.group] ?? '';
    const entry = byGroup.get(g) ?? { running: 0, other: 0 };
    if (i.state === 'running' && i.tags[TAG.template] === templates[g]) entry.running++;
    else entry.other++;
    byGroup.set(g, entry);
  }
  let pending = 0;
  for (const g of Object.keys(templates)) {
    const e = byGroup.get(g);
    if (e === undefined || e.running !== replicas || e.other !== 0) pending++;
  }
  return { now: sim.clock.now(), pending, live };
}

/**
 * Per group, when it converged: the later of its last new instance becoming running and its last
 * old instance starting to terminate (termination started = gone, as the capacity helper counts).
 */
function finishTimes(
  sinceAt: number,
  fleet: string,
  templates: Record<string, string>,
): { perGroup: Record<string, number>; launches: number; terminations: number } {
  const perGroup: Record<string, number> = {};
  let launches = 0;
  let terminations = 0;
  for (const e of sim.world.events()) {
    if (e.at < sinceAt || e.kind !== 'state' || e.tags[TAG.fleet] !== fleet) continue;
    const g = e.tags[TAG.group] ?? '';
    const isNew = e.tags[TAG.template] === templates[g];
    if (e.from === null) launches++;
    if (e.to === 'terminating') terminations++;
    if ((isNew && e.to === 'running') || (!isNew && e.to === 'terminating')) perGroup[g] = Math.max(perGroup[g] ?? 0, e.at);
  }
  return { perGroup, launches, terminations };
}
