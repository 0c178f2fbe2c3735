// Helpers for the `r1 serve` end-to-end tests (serve*.test.mjs) and bench/serve_load.mjs:
// start a server on a free loopback port, talk raw HTTP, run the CLI as a reference.
import {spawn, spawnSync} from "node:child_process";
import {createRequire} from "node:module";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../reference/package.json"));
// The official OpenAI client (installed for the reference tests).
export const OpenAI = require("openai").default ?? require("openai");

export const R1_BIN = process.env.R1_BIN;
export const SOURCE_DIR = process.env.R1_SOURCE_DIR || path.resolve(here, "../..");

// Writes the tiny qwen2 test model (built-in byte-level vocabulary, R1-Distill chat template).
export function makeModel(dir, name = "x.gguf") {
  fs.mkdirSync(dir, {recursive: true});
  const file = path.join(dir, name);
  const tmpl = path.join(SOURCE_DIR, "models/templates/deepseek-r1-distill.jinja");
  cli(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--chat-template", tmpl, "-o", file]);
  return file;
}

// Runs the r1 program; throws with its stderr unless it exits 0.
export function cli(args, opts = {}) {
  const r = spawnSync(R1_BIN, args, {encoding: "utf8", maxBuffer: 64 << 20, timeout: 60000, ...opts});
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`r1 ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// Starts `r1 serve` on a free port (--port 0) and resolves once it listens.
export async function startServer(model, args = [], env = {}) {
  const proc = spawn(R1_BIN, ["serve", "-m", model, "--port", "0", "-t", "1", ...args], {
    env: {...process.env, ...env},
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 20000);
    proc.stderr.on("data", (d) => {
      stderr += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}):\n${stderr}`));
    });
  });
  proc.stderr.on("data", () => {});
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({code, signal})));
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    exited,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited;
    },
  };
}

export function client(server, apiKey = "none") {
  return new OpenAI({baseURL: `${server.url}/v1`, apiKey, maxRetries: 0, timeout: 60000});
}

// Raw HTTP/1.1 exchange over one socket: sends `data` (string or Buffer), returns
// everything the server sent until it closed (or timeout_ms passed).
export function rawHttp(port, data, {timeout = 10000} = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    let done = false;
    const finish = (why) => {
      if (done) return;
      done = true;
      sock.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const m = /^HTTP\/1\.[01] (\d+)/.exec(text);
      resolve({status: m ? Number(m[1]) : 0, text, why});
    };
    sock.on("data", (d) => chunks.push(d));
    sock.on("error", () => finish("error"));
    sock.on("close", () => finish("close"));
    sock.setTimeout(timeout, () => finish("timeout"));
    sock.on("connect", () => sock.write(data));
  });
}

// A complete POST as raw bytes (Content-Length set from the body).
export function rawPost(pathname, body, headers = {}) {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return Buffer.concat([
    Buffer.from(`POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
                `Content-Length: ${b.length}\r\nConnection: close\r\n${extra}\r\n`),
    b,
  ]);
}

// fetch() returning {status, headers, json} (json null when the body is not JSON).
export async function http(server, pathname, {method = "GET", body, key, headers = {}} = {}) {
  const h = {...headers};
  if (key) h.Authorization = `Bearer ${key}`;
  if (body !== undefined && !h["Content-Type"]) h["Content-Type"] = "application/json";
  const res = await fetch(server.url + pathname, {method, headers: h,
                                                  body: typeof body === "string" ? body : body && JSON.stringify(body)});
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return {status: res.status, headers: res.headers, json, text};
}

// Prometheus text -> {name{labels}: value}.
export async function metrics(server, key) {
  const r = await http(server, "/metrics", {key});
  const out = {};
  for (const line of r.text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn() until it returns truthy or timeout_ms passes; returns the last value.
export async function until(fn, timeout = 5000, every = 50) {
  const t0 = Date.now();
  let v;
  while (!(v = await fn()) && Date.now() - t0 < timeout) await sleep(every);
  return v;
}
