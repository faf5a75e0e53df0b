/**
 * Preloaded into the daemon under test by daemon-bench.ts (NODE_OPTIONS=--import …). Measures the
 * daemon from inside without changing it: every BENCH_DAEMON_PROBE_MS it samples heap and RSS
 * (keeping the peaks); on SIGUSR2 it runs a full GC, then appends one JSON line with the live heap,
 * the peaks since the previous line and /proc/self/status VmRSS/VmHWM to BENCH_DAEMON_PROBE_FILE.
 * With BENCH_DAEMON_SNAPSHOT_DIR set, the first SIGUSR2 also writes a heap snapshot there.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';

const file = process.env['BENCH_DAEMON_PROBE_FILE'];

/** A /proc/self/status field in bytes. */
function kib(field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? Number.NaN) * 1024;
}
if (file !== undefined) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const snapshotDir = process.env['BENCH_DAEMON_SNAPSHOT_DIR'];
  let snapshotTaken = false;
  let peakHeapUsed = 0;
  let peakRss = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakHeapUsed = Math.max(peakHeapUsed, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  setInterval(sample, Number(process.env['BENCH_DAEMON_PROBE_MS'] ?? 100)).unref();
  process.on('SIGUSR2', () => {
    sample();
    const before = { peakHeapUsed, peakRss };
    gc();
    const m = process.memoryUsage();
    const h = getHeapStatistics();
    let snapshot: string | undefined;
    if (snapshotDir !== undefined && !snapshotTaken) {
      snapshotTaken = true;
      snapshot = writeHeapSnapshot(`${snapshotDir}/daemon-${process.pid}.heapsnapshot`);
    }
    appendFileSync(
      file,
      `${JSON.stringify({
        pid: process.pid,
        at: Date.now(),
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        rss: m.rss,
        vmRss: kib('VmRSS'),
        vmHwm: kib('VmHWM'),
        peakHeapUsed: before.peakHeapUsed,
        peakRss: before.peakRss,
        mallocedMemory: h.malloced_memory,
        snapshot,
      })}\n`,
    );
    peakHeapUsed = 0;
    peakRss = 0;
  });
  appendFileSync(file, `${JSON.stringify({ pid: process.pid, at: Date.now(), started: true })}\n`);
}
