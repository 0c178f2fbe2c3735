#!/usr/bin/env node
// Soak test of `r1 serve`: a bounded, self-stopping load on loopback of mixed
// streaming / non-streaming chat requests from twice as many clients as the
// server has slots, with random client disconnects, malformed requests, slow
// clients, and a SIGTERM + restart in the middle.
//
// Passes (exit 0) when:
// - every request was answered, or refused with a 4xx / 503 (or found the port
//   closed during the planned restart); none hung past --request-timeout;
// - every completed stream at temperature 0 is identical to the same request
//   answered without streaming (and all answers to one request agree);
// - the server process stayed alive throughout, except for the planned restart
//   (which must exit 0 after draining);
// - the resident memory of each server process grew less than 5 % from the end
//   of its warm-up (the first fifth of its run) to its end.
//
//   node bench/soak.mjs [--duration 600] [--parallel 4] [--model FILE] [--bin build/r1]
// Without --model, the tiny qwen2 test model is written to a temporary directory.
// With an ASan build (--bin build-asan/r1 --sanitized) any sanitizer report
// (LeakSanitizer runs at each planned exit) fails the run, and the RSS criterion
// is not applied (ASan's quarantine and shadow memory grow by design).
import {spawn} from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {parseArgs} from "node:util";

const here = path.dirname(fileURLToPath(import.meta.url));
const {values: args} = parseArgs({options: {
  duration: {type: "string", default: "600"},
  parallel: {type: "string", default: "4"},
  model: {type: "string"},
  bin: {type: "string", default: path.join(here, "../build/r1")},
  "request-timeout": {type: "string", default: "120"},
  seed: {type: "string", default: "1"},
  sanitized: {type: "boolean", default: false},
}});
process.env.R1_BIN ||= path.resolve(args.bin);
const {makeModel, sleep} = await import("../tests/e2e/serve_util.mjs");

const DURATION = Number(args.duration) * 1000;
const SLOTS = Number(args.parallel);
const CLIENTS = 2 * SLOTS;
const REQUEST_TIMEOUT = Number(args["request-timeout"]) * 1000;
let rngState = Number(args.seed) >>> 0 || 1;
const rand = () => ((rngState = (rngState * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const pick = (a) => a[Math.floor(rand() * a.length)];

const PROMPTS = ["What is 2+3?", "Name a prime number.", "hi", "Count to five.", "Why is the sky blue?",
                 "Write a haiku about rust.", "Solve x+1=4.", "Say something in French."];
const MAX_TOKENS = [8, 24, 48];

const stats = {requests: 0, ok: 0, refused4xx: 0, refused503: 0, refusedRestart: 0, disconnects: 0, malformed: 0,
               slow: 0, streams: 0, streamChecked: 0, mismatches: [], hangs: 0, failures: [], statusCounts: {}};
const reference = new Map();  // key -> answer text (non-streaming)
const pendingStreams = [];    // [key, text] seen before a reference existed

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
}

// --- the server, with RSS sampling -------------------------------------------
let server = null;
function startServer(model, port) {
  const proc = spawn(process.env.R1_BIN, ["serve", "-m", model, "--port", String(port), "-t", "1", "--parallel",
                                          String(SLOTS), "--max-queue", String(SLOTS), "--header-timeout", "5",
                                          "--read-timeout", "10"], {stdio: ["ignore", "ignore", "pipe"]});
  const s = {proc, stderr: "", rss: [], started: Date.now(), planned: false,
             exited: new Promise((r) => proc.on("exit", (code, signal) => r({code, signal})))};
  proc.stderr.on("data", (d) => (s.stderr = (s.stderr + d).slice(-20000)));
  s.ready = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("server did not start:\n" + s.stderr)), 30000);
    proc.stderr.on("data", () => {
      if (/listening on/.test(s.stderr)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  s.sampler = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${proc.pid}/status`, "utf8"));
      if (m) s.rss.push([Date.now() - s.started, Number(m[1])]);
    } catch {}
  }, 1000);
  s.exited.then((e) => {
    clearInterval(s.sampler);
    // An ASan / UBSan build (--bin build-asan/r1) reports leaks at exit, errors when they happen.
    const report = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.exec(s.stderr);
    if (report) stats.failures.push(`sanitizer report from the server:\n${s.stderr.slice(report.index, report.index + 3000)}`);
    s.sanitizerClean = !report;
    if (!s.planned) stats.failures.push(`server exited unexpectedly: ${JSON.stringify(e)}\n${s.stderr.slice(-2000)}`);
  });
  return s;
}

// --- requests ----------------------------------------------------------------
let port = 0;
let restarting = false;
const chatBody = (key, stream) => {
  const [prompt, maxTokens] = key.split("\u0000");
  return {model: "x", messages: [{role: "user", content: prompt}], temperature: 0, max_tokens: Number(maxTokens),
          stream};
};
const answerOf = (m) => (m.reasoning_content ?? "") + "\u0001" + (m.content ?? "");

function noteStatus(status, what = "") {
  stats.statusCounts[status] = (stats.statusCounts[status] || 0) + 1;
  if (status === 200) stats.ok++;
  else if (status === 503) stats.refused503++;
  else if (status >= 400 && status < 500) stats.refused4xx++;
  else stats.failures.push(`unexpected status ${status} ${what}`);
}

function compare(key, text) {
  const ref = reference.get(key);
  if (ref === undefined) return pendingStreams.push([key, text]);
  stats.streamChecked++;
  if (ref !== text) stats.mismatches.push({key, stream: text.slice(0, 200), plain: ref.slice(0, 200)});
}

async function withTimeout(fn) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error("hang")), REQUEST_TIMEOUT);
  try {
    return await fn(ac.signal);
  } finally {
    clearTimeout(t);
  }
}

function refusedByRestart(e) {
  const code = e?.cause?.code ?? e?.code;
  return restarting && (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "UND_ERR_SOCKET");
}

async function plainChat(key) {
  const res = await withTimeout((signal) => fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(chatBody(key, false)), signal}));
  const text = await res.text();
  noteStatus(res.status);
  if (res.status !== 200) return;
  const msg = JSON.parse(text).choices[0].message;
  const a = answerOf(msg);
  const ref = reference.get(key);
  if (ref === undefined) reference.set(key, a);
  else if (ref !== a) stats.mismatches.push({key, plain: a.slice(0, 200), earlier: ref.slice(0, 200)});
}

// Streams a chat request; abortAfterMs: disconnect after that long (no check).
async function streamChat(key, abortAfterMs = 0) {
  await withTimeout(async (signal) => {
    const ac = new AbortController();
    signal.addEventListener("abort", () => ac.abort(signal.reason));
    if (abortAfterMs) setTimeout(() => ac.abort(new Error("client disconnect")), abortAfterMs);
    let res;
    try {
      res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(chatBody(key, true)),
        signal: ac.signal});
    } catch (e) {
      if (abortAfterMs && ac.signal.aborted && !signal.aborted) return stats.disconnects++;
      throw e;
    }
    if (res.status !== 200) return noteStatus(res.status), res.text();
    let buf = "", reasoning = "", content = "", done = false, errorEvent = false;
    try {
      for await (const chunk of res.body) {
        buf += Buffer.from(chunk).toString("utf8");
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!ev.startsWith("data: ")) continue;
          const data = ev.slice(6);
          if (data === "[DONE]") {
            done = true;
            continue;
          }
          const j = JSON.parse(data);
          if (j.error) {
            errorEvent = true;
            continue;
          }
          const d = j.choices?.[0]?.delta ?? {};
          reasoning += d.reasoning_content ?? "";
          content += d.content ?? "";
        }
      }
    } catch (e) {
      if (abortAfterMs && ac.signal.aborted && !signal.aborted) return stats.disconnects++;
      throw e;
    }
    if (abortAfterMs) return stats.disconnects++;  // finished before the planned disconnect
    if (!done) throw new Error("stream ended without [DONE]");
    if (errorEvent) return noteStatus(503);  // drained mid-stream by the planned SIGTERM
    noteStatus(200);
    stats.streams++;
    compare(key, reasoning + "\u0001" + content);
  });
}

const CHAT = "/v1/chat/completions", COMPLETIONS = "/v1/completions";
const MALFORMED = [
  [CHAT, "{"], [COMPLETIONS, "[]"], ["/tokenize", "\xff\xfe"], [CHAT, '{"messages": 5}'],
  [CHAT, '{"model": "x", "messages": [{"role": "user", "content": [{"type": 1}]}]}'],
  [CHAT, '{"model":"x","messages":[{"role":"user","content":"hi"}],"max_tokens":-1}'],
  [CHAT, '{"model":"x","messages":[{"role":"user","content":"hi"}],"n":100000}'],
  [COMPLETIONS, '{"model":"x","prompt":"hi","logprobs":99999}'], ["/tokenize", '{"content": "x", "with_pieces": 3}'],
];

async function malformed() {
  stats.malformed++;
  const [route, body] = pick(MALFORMED);
  const res = await withTimeout((signal) => fetch(`http://127.0.0.1:${port}${route}`, {
    method: "POST", headers: {"Content-Type": "application/json"}, body, signal}));
  await res.text();
  if (res.status === 200) stats.failures.push(`malformed body ${JSON.stringify(body)} on ${route} got 200`);
  else noteStatus(res.status, `for ${JSON.stringify(body)} on ${route}`);
}

// Sends a request a few bytes at a time; expects an answer or a 408.
function slowClient(key) {
  stats.slow++;
  const body = JSON.stringify(chatBody(key, false));
  const req = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    let pos = 0, timer = null;
    const hang = setTimeout(() => {
      sock.destroy();
      reject(new Error("hang"));
    }, REQUEST_TIMEOUT);
    const finish = () => {
      clearTimeout(hang);
      clearInterval(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const m = /^HTTP\/1\.1 (\d+)/.exec(text);
      if (!m) return reject(Object.assign(new Error("no answer from a slow client's request"), {code: "ECONNRESET"}));
      noteStatus(Number(m[1]));
      resolve();
    };
    sock.on("data", (d) => chunks.push(d));
    sock.on("close", finish);
    sock.on("error", (e) => {
      clearTimeout(hang);
      clearInterval(timer);
      reject(e);
    });
    sock.on("connect", () => {
      const step = 1 + Math.floor(rand() * 40);
      timer = setInterval(() => {
        if (pos >= req.length) return clearInterval(timer);
        sock.write(req.slice(pos, pos + step));
        pos += step;
      }, 20);
    });
  });
}

async function clientLoop(deadline) {
  while (Date.now() < deadline) {
    const key = `${pick(PROMPTS)}\u0000${pick(MAX_TOKENS)}`;
    const r = rand();
    stats.requests++;
    try {
      if (r < 0.35) await plainChat(key);
      else if (r < 0.7) await streamChat(key);
      else if (r < 0.8) await streamChat(key, 20 + Math.floor(rand() * 300));
      else if (r < 0.9) await malformed();
      else await slowClient(key);
    } catch (e) {
      if (refusedByRestart(e)) {
        stats.refusedRestart++;
        await sleep(100);
      } else if (String(e?.message ?? e).includes("hang") || e?.name === "AbortError") {
        stats.hangs++;
        stats.failures.push(`request hung: ${e?.message ?? e}`);
      } else {
        stats.failures.push(`request failed: ${e?.stack ?? e}`);
      }
    }
  }
}

function rssGrowth(s) {
  const samples = s.rss;
  if (samples.length < 5) return null;
  const span = samples[samples.length - 1][0];
  const warm = samples.find(([t]) => t >= span / 5) ?? samples[0];
  const end = samples[samples.length - 1];
  return {warm_kb: warm[1], end_kb: end[1], max_kb: Math.max(...samples.map(([, v]) => v)),
          growth: (end[1] - warm[1]) / warm[1]};
}

// --- main --------------------------------------------------------------------
const model = args.model ?? makeModel(fs.mkdtempSync(path.join(os.tmpdir(), "r1-soak-")));
port = await freePort();
const t0 = Date.now();
const processes = [];
server = startServer(model, port);
processes.push(server);
await server.ready;
const deadline = t0 + DURATION;
const loops = Array.from({length: CLIENTS}, () => clientLoop(deadline));

// The planned restart, half-way through.
await sleep(DURATION / 2);
restarting = true;
server.planned = true;
server.proc.kill("SIGTERM");
const drained = await server.exited;
if (drained.code !== 0) stats.failures.push(`the planned SIGTERM did not exit 0: ${JSON.stringify(drained)}`);
server = startServer(model, port);
processes.push(server);
await server.ready;
restarting = false;

await Promise.all(loops);
for (const [key, text] of pendingStreams) compare(key, text);
server.planned = true;
server.proc.kill("SIGTERM");
const last = await server.exited;
if (last.code !== 0) stats.failures.push(`the final SIGTERM did not exit 0: ${JSON.stringify(last)}`);

const rss = processes.map(rssGrowth);
for (const [i, g] of rss.entries())
  if (g && g.growth >= 0.05 && !args.sanitized) stats.failures.push(`server ${i + 1}: RSS grew ${(100 * g.growth).toFixed(1)} %`);
if (stats.mismatches.length) stats.failures.push(`${stats.mismatches.length} stream/plain mismatches`);
const summary = {duration_s: (Date.now() - t0) / 1000, slots: SLOTS, clients: CLIENTS, ...stats,
                 mismatches: stats.mismatches.slice(0, 5), rss, cpu: os.cpus()[0]?.model};
console.log(JSON.stringify(summary, null, 2));
console.log(stats.failures.length ? `SOAK FAILED (${stats.failures.length} failures)` : "SOAK PASSED");
process.exit(stats.failures.length ? 1 : 0);
