// Table of bench/compare_llama.sh: reads its JSON lines (one per engine, file, test and
// round) and prints, per file and test, the mean rate of each engine over all rounds'
// samples, the spread, and the ratio r1 / llama.cpp; then the machine description.
//   node bench/compare_report.mjs RESULTS.jsonl THREADS
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [file, threads] = process.argv.slice(2);
const rows = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const stddev = (v) => {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1));
};

const groups = new Map();  // "file|test" -> {r1: samples[], llama: samples[]}
for (const r of rows) {
  if (r.engine == null) r.engine = "r1";  // r1 bench -o jsonl
  if (r.test == null)
    r.test = (r.n_prompt > 0 ? `pp${r.n_prompt}` : `tg${r.n_gen}`) + (r.n_depth > 0 ? ` @ d${r.n_depth}` : "");
  const key = `${path.basename(r.model_filename)}|${r.test}`;
  if (!groups.has(key)) groups.set(key, {r1: [], llama: [], r1cpu: [], llamacpu: [], isa: null, rss: null, weights: null});
  const g = groups.get(key);
  if (r.engine === "r1") {
    g.r1.push(...r.samples_ts);
    g.r1cpu.push(...(r.samples_cpu_ts ?? []));
    g.isa = r.kernel_isa;
    g.rss = Math.max(g.rss ?? 0, r.peak_rss_bytes);
    g.weights = r.weight_bytes;
  } else {
    g.llama.push(...r.samples_ts);
    g.llamacpu.push(...(r.samples_cpu_ts ?? []));
  }
}

const fmt = (v) => (v.length ? `${mean(v).toFixed(2)} ± ${stddev(v).toFixed(2)}` : "-");
const ratio = (a, b) => (a.length && b.length ? (mean(a) / mean(b)).toFixed(2) + "x" : "-");
console.log(`| file | test | r1 t/s | llama.cpp t/s | r1 / llama.cpp | same, per CPU second |`);
console.log(`| --- | --- | ---: | ---: | ---: | ---: |`);
for (const [key, g] of groups) {
  const [f, test] = key.split("|");
  console.log(`| ${f.replace(/\.gguf$/, "")} | ${test} | ${fmt(g.r1)} | ${fmt(g.llama)} | ${ratio(g.r1, g.llama)} | ` +
              `${ratio(g.r1cpu, g.llamacpu)} |`);
}
const cpu = os.cpus()[0]?.model ?? "?";
const isa = [...groups.values()].find((g) => g.isa)?.isa ?? "?";
console.log(`\nmachine: ${cpu}, ${os.cpus().length} logical CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM; ` +
            `threads ${threads}; r1 kernels: ${isa}; load average at the end ${os.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
for (const [key, g] of groups)
  if (g.rss && g.weights && key.includes("tg"))
    console.log(`peak RSS of r1 (${key.split("|")[0]}, through ${key.split("|")[1]}): ` +
                `${(g.rss / 2 ** 20).toFixed(0)} MiB, weights ${(g.weights / 2 ** 20).toFixed(0)} MiB`);
