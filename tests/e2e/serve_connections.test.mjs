// `r1 serve`'s connection layer and browser guard, over real sockets: many idle
// and slow connections do not starve /health or a chat request; header and idle
// deadlines; per-client connection limits; pipelining, Expect: 100-continue and
// chunked bodies; cross-site (Origin) and foreign-Host (DNS rebinding) requests
// refused with 403 while same-origin pages and non-browser clients work.
// Environment: R1_BIN, R1_TMP, R1_SOURCE_DIR (set by ctest); R1_IDLE_CONNECTIONS
// (default 400; the figure is taken with 1000).
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {R1_BIN, client, http, makeModel, metrics, rawHttp, rawPost, sleep, startServer, until} from "./serve_util.mjs";

const skip = R1_BIN ? false : "R1_BIN is not set";
const TMP = path.join(process.env.R1_TMP || os.tmpdir(), "serve-connections");
const IDLE = Number(process.env.R1_IDLE_CONNECTIONS || 400);
let MODEL;
const servers = [];
async function start(args = [], env) {
  const s = await startServer(MODEL, args, env);
  servers.push(s);
  return s;
}

before(() => {
  if (!skip) MODEL = makeModel(TMP);
});
after(async () => {
  for (const s of servers) await s.stop();
});

// Opens a TCP connection; resolves once connected. closed: resolves when the server closes it.
function connect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks = [];
    sock.gone = new Promise((r) => sock.on("close", r));
    sock.on("data", (d) => chunks.push(d));
    sock.received = () => Buffer.concat(chunks).toString("latin1");
    sock.on("error", () => {});
    sock.once("connect", () => resolve(sock));
    sock.once("error", reject);
  });
}

async function timedHealth(server) {
  const t0 = performance.now();
  const r = await rawHttp(server.port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  return {ms: performance.now() - t0, status: r.status};
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

test(`${IDLE} idle and ${IDLE / 2} slow connections do not starve /health or a chat request`, {skip}, async () => {
  // All of them come from 127.0.0.1: the per-address limit is raised to hold them.
  const s = await start(["--parallel", "2", "--header-timeout", "60", "--read-timeout", "60",
                         "--max-client-connections", String(2 * IDLE)]);
  const idle = [];
  for (let i = 0; i < IDLE; ++i) idle.push(await connect(s.port));
  // Slow clients: a request head trickling in, one byte every 200 ms.
  const slow = [];
  for (let i = 0; i < IDLE / 2; ++i) {
    const c = await connect(s.port);
    c.write("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le");
    slow.push(c);
  }
  const trickle = setInterval(() => slow.forEach((c) => c.write("n")), 200);
  try {
    const times = [];
    for (let i = 0; i < 9; ++i) {
      const h = await timedHealth(s);
      assert.equal(h.status, 200);
      times.push(h.ms);
    }
    console.log(`/health with ${IDLE} idle + ${IDLE / 2} slow connections: median ${median(times).toFixed(1)} ms, ` +
                `max ${Math.max(...times).toFixed(1)} ms`);
    assert.ok(median(times) < 100, `median /health ${median(times)} ms`);
    const r = await client(s).chat.completions.create({model: "x", messages: [{role: "user", content: "hi"}],
                                                      max_tokens: 8, temperature: 0});
    assert.ok(r.choices[0].finish_reason);
    const m = await metrics(s);
    assert.ok(m["r1_http_connections_open"] >= IDLE + IDLE / 2, JSON.stringify(m["r1_http_connections_open"]));
    assert.equal(m['r1_http_connections_closed_total{reason="evicted"}'], 0);
  } finally {
    clearInterval(trickle);
    [...idle, ...slow].forEach((c) => c.destroy());
  }
});

test("a request head that trickles in is cut at the header deadline with 408", {skip}, async () => {
  const s = await start(["--header-timeout", "1"]);
  const c = await connect(s.port);
  c.write("GET /health HTTP/1.1\r\n");
  const trickle = setInterval(() => c.write("X"), 100);
  const t0 = Date.now();
  await c.gone;
  clearInterval(trickle);
  const took = Date.now() - t0;
  assert.match(c.received(), /^HTTP\/1\.1 408 /);
  assert.ok(took >= 900 && took < 3000, `closed after ${took} ms`);
  // A connection that sends nothing is closed silently at the same deadline.
  const quiet = await connect(s.port);
  await quiet.gone;
  assert.equal(quiet.received(), "");
  const m = await metrics(s);
  assert.ok(m['r1_http_connections_closed_total{reason="timed_out"}'] >= 2);
});

test("keep-alive connections are closed after --idle-timeout; pipelined requests are all answered", {skip}, async () => {
  const s = await start(["--idle-timeout", "1"]);
  const c = await connect(s.port);
  const get = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  c.write(get + get + get);
  await until(() => (c.received().match(/HTTP\/1\.1 200/g) || []).length === 3, 5000);
  assert.equal((c.received().match(/HTTP\/1\.1 200/g) || []).length, 3);
  const t0 = Date.now();
  await c.gone;
  assert.ok(Date.now() - t0 < 3000);
});

test("over --max-client-connections the client's oldest idle connection is closed, not the new one", {skip}, async () => {
  const s = await start(["--max-client-connections", "5"]);
  const socks = [];
  for (let i = 0; i < 5; ++i) socks.push(await connect(s.port));
  await sleep(100);
  const extra = await connect(s.port);
  await Promise.race([socks[0].gone, sleep(3000)]);
  assert.equal(socks[0].destroyed || socks[0].readyState === "closed", true, "the oldest connection was not closed");
  extra.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  await extra.gone;
  assert.match(extra.received(), /^HTTP\/1\.1 200 /);
  const m = await metrics(s);
  assert.ok(m['r1_http_connections_closed_total{reason="evicted"}'] >= 1);
  socks.forEach((c) => c.destroy());
});

test("Expect: 100-continue gets one interim 100; chunked bodies are read; bad framing gets 4xx", {skip}, async () => {
  const s = await start();
  const body = JSON.stringify({content: "hello"});
  const c = await connect(s.port);
  c.write(`POST /tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
  await until(() => c.received().includes("100 Continue"), 3000);
  assert.match(c.received(), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
  c.write(body);
  await c.gone;
  assert.equal((c.received().match(/100 Continue/g) || []).length, 1);
  assert.match(c.received(), /HTTP\/1\.1 200 OK/);
  assert.match(c.received(), /"tokens"/);

  const half = Math.floor(body.length / 2);
  const chunked = `POST /tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
                  `${half.toString(16)}\r\n${body.slice(0, half)}\r\n${(body.length - half).toString(16)}\r\n` +
                  `${body.slice(half)}\r\n0\r\n\r\n`;
  const r = await rawHttp(s.port, chunked);
  assert.equal(r.status, 200, r.text);
  assert.match(r.text, /"tokens"/);

  for (const [req, status] of [
    ["POST /tokenize HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["POST /tokenize HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ["POST /tokenize HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n", 413],
    ["GET / HTTP/1.1\r\nX: " + "a".repeat(70000) + "\r\n\r\n", 431],
  ]) {
    const res = await rawHttp(s.port, req);
    assert.equal(res.status, status, res.text.slice(0, 200));
    assert.match(res.text, /"error"/);
  }
  assert.equal((await http(s, "/health")).status, 200);
});

test("cross-site requests and foreign Host names get 403; same-origin pages and API clients work", {skip}, async () => {
  const s = await start();
  const body = JSON.stringify({content: "hi"});
  // A page on another site POSTing a "simple" (text/plain) request.
  const evil = await rawHttp(s.port, rawPost("/tokenize", body, {Origin: "https://evil.example"})
                                      .toString("latin1").replace("application/json", "text/plain"));
  assert.equal(evil.status, 403);
  assert.match(evil.text, /cross-site request refused.*evil\.example.*--cors/);
  // DNS rebinding: the browser sends the attacker's name as Host (and no Origin on a GET).
  const rebind = await rawHttp(s.port, `GET /v1/models HTTP/1.1\r\nHost: attacker.example:${s.port}\r\nConnection: close\r\n\r\n`);
  assert.equal(rebind.status, 403);
  assert.match(rebind.text, /Host header 'attacker\.example.*--host-allow/);
  // The server's own origin, and clients that send no Origin.
  const own = await rawHttp(s.port, rawPost("/tokenize", body, {Origin: `http://127.0.0.1:${s.port}`})
                                     .toString("latin1").replace("Host: 127.0.0.1", `Host: 127.0.0.1:${s.port}`));
  assert.equal(own.status, 200, own.text);
  const r = await client(s).chat.completions.create({model: "x", messages: [{role: "user", content: "hi"}], max_tokens: 4});
  assert.ok(r.choices.length === 1);
  // Allowed on request: --cors ORIGIN, --host-allow NAME.
  const s2 = await start(["--cors", "http://localhost:3000", "--host-allow", "box.lan"]);
  const ok = await rawHttp(s2.port, rawPost("/tokenize", body, {Origin: "http://localhost:3000"}));
  assert.equal(ok.status, 200, ok.text);
  const named = await rawHttp(s2.port, `GET /health HTTP/1.1\r\nHost: box.lan:${s2.port}\r\nConnection: close\r\n\r\n`);
  assert.equal(named.status, 200);
  // With an API key the key protects the server; the browser guard is off unless --host-allow is given.
  const s3 = await start(["--api-key", "k"]);
  const keyed = await rawHttp(s3.port, rawPost("/tokenize", body, {Origin: "https://evil.example"}));
  assert.equal(keyed.status, 401);
});
