import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One measured row, as written to bench/results/<suite>.json. */
export interface BenchRow {
  suite: string;
  case: string;
  subject: string;
  ops_per_sec: number;
  ns_per_op: number;
}

/** A target: `subject` must reach at least `min` times the speed of `baseline` on `case`. */
export interface Target {
  case: string;
  subject: string;
  baseline: string;
  /** Optional case of the baseline when it differs. */
  baselineCase?: string;
  min: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Times `run`, which performs `ops` operations, after an optional `setup`; returns ops/s and ns/op. */
export async function measure(ops: number, run: () => Promise<void> | void): Promise<{ ops_per_sec: number; ns_per_op: number }> {
  gc?.();
  const start = process.hrtime.bigint();
  await run();
  const ns = Number(process.hrtime.bigint() - start);
  return { ops_per_sec: (ops / ns) * 1e9, ns_per_op: ns / ops };
}

/** Collects rows for one suite and prints them. */
export class Report {
  readonly rows: BenchRow[] = [];
  constructor(readonly suite: string) {}

  /** Measures one run; measuring the same case and subject again keeps the faster run (best of rounds). */
  async time(
    caseName: string,
    subject: string,
    ops: number,
    run: () => Promise<void> | void,
    /** A duration measured elsewhere (e.g. inside a browser page), in ns: `run` is then not timed. */
    measuredNs?: number,
  ): Promise<BenchRow> {
    const timing =
      measuredNs === undefined ? await measure(ops, run) : { ops_per_sec: (ops / measuredNs) * 1e9, ns_per_op: measuredNs / ops };
    const row = { suite: this.suite, case: caseName, subject, ...timing };
    process.stdout.write(`  ${caseName.padEnd(30)} ${subject.padEnd(34)} ${fmt(row.ops_per_sec).padStart(12)} ops/s\n`);
    const previous = this.find(caseName, subject);
    if (previous === undefined) this.rows.push(row);
    else if (row.ops_per_sec > previous.ops_per_sec) Object.assign(previous, row);
    return row;
  }

  find(caseName: string, subject: string): BenchRow | undefined {
    return this.rows.find((r) => r.case === caseName && r.subject === subject);
  }

  /** Prints the table with ratios to the fastest subject of each case, then the targets; returns failed targets. */
  print(targets: readonly Target[]): string[] {
    const cases = [...new Set(this.rows.map((r) => r.case))];
    const lines = [`\n${this.suite}: ops/s (ratio to the fastest subject of the case)`];
    for (const c of cases) {
      const rows = this.rows.filter((r) => r.case === c);
      const best = Math.max(...rows.map((r) => r.ops_per_sec));
      lines.push(`\n  ${c}`);
      for (const r of rows) {
        lines.push(`    ${r.subject.padEnd(36)} ${fmt(r.ops_per_sec).padStart(12)}  ${fmtNs(r.ns_per_op).padStart(10)}  ${(r.ops_per_sec / best).toFixed(2)}x`);
      }
    }
    const failed: string[] = [];
    lines.push('\n  targets');
    for (const t of targets) {
      const subject = this.find(t.case, t.subject);
      const baseline = this.find(t.baselineCase ?? t.case, t.baseline);
      if (subject === undefined || baseline === undefined) {
        failed.push(`${t.case}: missing rows`);
        continue;
      }
      const ratio = subject.ops_per_sec / baseline.ops_per_sec;
      const ok = ratio >= t.min;
      if (!ok) failed.push(`${t.case}: ${t.subject} ${ratio.toFixed(2)}x ${t.baseline} (target ${t.min}x)`);
      lines.push(
        `    ${ok ? 'ok  ' : 'MISS'} ${t.case}: ${t.subject} = ${ratio.toFixed(2)}x ${t.baseline} (target >= ${t.min}x)`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return failed;
  }

  /** Writes bench/results/<suite>.json. */
  save(): string {
    const file = join(dirname(fileURLToPath(import.meta.url)), 'results', `${this.suite}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(this.rows, null, 2)}\n`);
    return file;
  }
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

function fmtNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} us` : `${Math.round(ns)} ns`;
}
