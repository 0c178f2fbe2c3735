// Load benchmark of `r1 serve` over loopback: 1, 4 and 8 concurrent streaming
// chat requests (each generating a fixed number of tokens with ignore_eos), on
// the R1-Distill-Qwen-1.5B-shaped Q4_0 random-weight model by default.
//
// Reported per level: aggregate tokens/s (all generated tokens / wall time of
// the level), aggregate decode tokens/s (tokens after each stream's first /
// time from the first first-token to the last end, which includes the prefill
// steps of streams admitted later), steady-state decode tokens/s (tokens of all
// streams between the moment every stream has its first token and the moment the
// first one ends: only decode steps, all streams in the batch), time to first
// token (median, max) and the mean inter-token time per stream. The issue's
// target: aggregate decode throughput at 8 streams >= 3x one stream.
//
// Usage:
//   R1_BIN=build/r1 node bench/serve_load.mjs [--model FILE] [--tokens 128]
//     [--levels 1,4,8] [--threads 0] [--prompt-words 32] [--time-limit 600]
// Without --model the 1.5B-shaped Q4_0 file is written to $R1_TMP (or the OS
// temp dir) once and reused. Only 127.0.0.1 is used. The whole run stops after
// --time-limit seconds (levels not reached are reported as skipped).
import {spawn, spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const R1 = process.env.R1_BIN || path.join(root, "build/r1");
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const TOKENS = Number(arg("tokens", "128"));
const LEVELS = arg("levels", "1,4,8").split(",").map(Number);
const THREADS = arg("threads", "0");
const PROMPT_WORDS = Number(arg("prompt-words", "32"));
const TIME_LIMIT = Number(arg("time-limit", "600")) * 1000;
const t_start = Date.now();

function model() {
  const given = arg("model", "");
  if (given) return given;
  const dir = path.join(process.env.R1_TMP || os.tmpdir(), "r1-bench");
  fs.mkdirSync(dir, {recursive: true});
  const file = path.join(dir, "r1-distill-qwen-1.5b-q4_0.gguf");
  if (!fs.existsSync(file)) {
    console.error(`writing ${file} ...`);
    const r = spawnSync(R1, ["gen-model", "--preset", "r1-distill-qwen-1.5b", "--dtype", "q4_0", "-o", file],
                        {stdio: ["ignore", "inherit", "inherit"]});
    if (r.status !== 0) process.exit(1);
  }
  return file;
}

async function startServer(file, parallel) {
  const proc = spawn(R1, ["serve", "-m", file, "--host", "127.0.0.1", "--port", "0", "--parallel", String(parallel),
                          "-c", String(Math.max(512, PROMPT_WORDS * 4 + TOKENS + 64)), "-t", THREADS],
                     {stdio: ["ignore", "ignore", "pipe"]});
  let err = "";
  const port = await new Promise((resolve, reject) => {
    proc.stderr.on("data", (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (c) => reject(new Error(`r1 serve exited (${c}): ${err}`)));
  });
  return {proc, url: `http://127.0.0.1:${port}`};
}

// One streaming request; resolves with its timings (ms since `t0`) and token count.
async function stream(url, i, t0, signal) {
  const words = Array.from({length: PROMPT_WORDS}, (_, k) => `word${(i * 7 + k) % 50}`).join(" ");
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({messages: [{role: "user", content: `Stream ${i}: ${words}`}], max_tokens: TOKENS,
                          ignore_eos: true, temperature: 0.6, seed: i, stream: true,
                          // logprobs make every token a chunk (text can be held back), so tokens are timed exactly
                          logprobs: true, top_logprobs: 0, stream_options: {include_usage: true}}),
    signal,
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const dec = new TextDecoder();
  let buf = "", first = null, tokens = 0;
  const times = [];  // arrival time of every generated token (ms since t0)
  for await (const part of res.body) {
    buf += dec.decode(part, {stream: true});
    let k;
    while ((k = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const j = JSON.parse(line.slice(6));
      if (j.usage) tokens = j.usage.completion_tokens;
      const lp = j.choices?.[0]?.logprobs;  // tokens of the reasoning and of the answer
      const n = lp ? (lp.content?.length ?? 0) + (lp.reasoning_content?.length ?? 0) : 0;
      if (n) {
        const t = performance.now() - t0;
        if (first === null) first = t;
        for (let q = 0; q < n; ++q) times.push(t);
      }
    }
  }
  const end = performance.now() - t0;
  return {first: first ?? end, end, tokens, times};
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const file = model();
const maxLevel = Math.max(...LEVELS);
const server = await startServer(file, maxLevel);
const ctrl = new AbortController();
const timer = setTimeout(() => ctrl.abort(), Math.max(1000, TIME_LIMIT - (Date.now() - t_start)));
const rows = [];
try {
  await stream(server.url, 999, performance.now(), ctrl.signal);  // warm-up (page in the weights)
  for (const n of LEVELS) {
    const t0 = performance.now();
    const res = await Promise.all([...Array(n).keys()].map((i) => stream(server.url, i, t0, ctrl.signal)));
    const wall = Math.max(...res.map((r) => r.end));
    const total = res.reduce((s, r) => s + r.tokens, 0);
    const firstFirst = Math.min(...res.map((r) => r.first));
    const decodeTokens = res.reduce((s, r) => s + r.tokens - 1, 0);
    const itl = res.map((r) => (r.end - r.first) / Math.max(1, r.tokens - 1));
    // Steady state: from the moment every stream has its first token (all prompts are
    // prefilled) to the moment the first stream ends; tokens of all streams in that window.
    const lastFirst = Math.max(...res.map((r) => r.first)), firstEnd = Math.min(...res.map((r) => r.end));
    const inWindow = res.reduce((s, r) => s + r.times.filter((t) => t > lastFirst && t <= firstEnd).length, 0);
    const steady = firstEnd > lastFirst ? inWindow / (firstEnd - lastFirst) * 1000 : NaN;
    rows.push({streams: n, tokens: total, wall_ms: Math.round(wall),
               aggregate_tps: +(total / wall * 1000).toFixed(2),
               decode_tps: +(decodeTokens / (wall - firstFirst) * 1000).toFixed(2),
               ttft_median_ms: Math.round(median(res.map((r) => r.first))),
               ttft_max_ms: Math.round(Math.max(...res.map((r) => r.first))),
               itl_mean_ms: +(itl.reduce((a, b) => a + b, 0) / n).toFixed(1),
               steady_decode_tps: +steady.toFixed(2), steady_window_ms: Math.round(Math.max(0, firstEnd - lastFirst))});
  }
} catch (e) {
  if (!ctrl.signal.aborted) throw e;
  console.error(`time limit reached after ${((Date.now() - t_start) / 1000).toFixed(0)} s`);
} finally {
  clearTimeout(timer);
  server.proc.kill("SIGKILL");
}

console.log(`model ${path.basename(file)}, ${TOKENS} tokens per stream, prompt ~${PROMPT_WORDS} words, threads ${THREADS}, ` +
            `--parallel ${maxLevel}, ${os.cpus().length} CPUs`);
console.log("streams | tokens | wall ms | aggregate tok/s | decode tok/s | steady decode tok/s (window ms) | " +
            "TTFT median ms | TTFT max ms | ITL mean ms");
for (const r of rows)
  console.log(`${r.streams} | ${r.tokens} | ${r.wall_ms} | ${r.aggregate_tps} | ${r.decode_tps} | ` +
              `${r.steady_decode_tps} (${r.steady_window_ms}) | ${r.ttft_median_ms} | ${r.ttft_max_ms} | ${r.itl_mean_ms}`);
for (const n of LEVELS) if (!rows.find((r) => r.streams === n)) console.log(`${n} | skipped (time limit)`);
const one = rows.find((r) => r.streams === 1), eight = rows.find((r) => r.streams === 8);
if (one && eight)
  console.log(`decode throughput 8 streams / 1 stream: ${(eight.decode_tps / one.decode_tps).toFixed(2)}x from the first ` +
              `first token (prefills of later streams included), ${(eight.steady_decode_tps / one.steady_decode_tps).toFixed(2)}x ` +
              `in the steady state (all streams decoding)`);
console.log(JSON.stringify({bench: "serve_load", model: path.basename(file), rows}));
