/** Shared output for benchmark scripts: one JSON line (for tooling) and one human line per figure. */

/** One measured figure next to the bound it is judged against. */
export interface BenchFigure {
  readonly bench: string;
  readonly case: string;
  readonly metric: string;
  readonly value: number;
  readonly bound: number;
  /** Whether a lower or a higher value is better; decides how the ratio reads. */
  readonly better: 'lower' | 'higher';
}

/** Prints the figure. The ratio is value/bound when lower is better and bound/value when higher is better, so ≤ 1 always means within the bound. */
export function report(figure: BenchFigure): void {
  const ratio = figure.better === 'lower' ? figure.value / figure.bound : figure.bound / figure.value;
  const within = ratio <= 1;
  console.log(JSON.stringify({ ...figure, value: round(figure.value), ratio: round(ratio), within }));
  console.log(
    `  ${figure.bench} ${figure.case}: ${figure.metric} = ${round(figure.value)} (bound ${figure.bound}, ratio ${round(ratio)} ${within ? 'OK' : 'OVER'})`,
  );
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
