// `r1 serve` under load and abuse: 16 concurrent clients (temperature-0 outputs
// identical to sequential runs), client disconnects free their slot, a full queue
// answers 429 with Retry-After, hostile inputs (invalid JSON and UTF-8, wrong
// types, missing fields, huge bodies and max_tokens, unknown model and fields,
// deep nesting, slow-loris) with the server checked to keep serving, and SIGTERM
// draining. Environment: R1_BIN, R1_TMP, R1_SOURCE_DIR (set by ctest).
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import {spawnSync} from "node:child_process";
import os from "node:os";
import path from "node:path";
import {R1_BIN, client, http, makeModel, metrics, rawHttp, rawPost, sleep, startServer, until} from "./serve_util.mjs";

const skip = R1_BIN ? false : "R1_BIN is not set";
const TMP = path.join(process.env.R1_TMP || os.tmpdir(), "serve-robust");
let MODEL;
const servers = [];
async function start(args, env) {
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

const chat = (content, extra = {}) => ({model: "x", messages: [{role: "user", content}], temperature: 0, ...extra});
const answer = (r) => r.choices[0].message.reasoning_content + "|" + r.choices[0].message.content;

test("16 concurrent clients all complete, each identical to its sequential run", {skip}, async () => {
  const s = await start(["--parallel", "4", "-c", "512", "--max-queue", "16"]);
  const oa = client(s);
  // Different prompt lengths and output lengths, so requests join and leave between steps.
  const reqs = [...Array(16).keys()].map((i) => chat(`client ${i}: ` + "tell me more ".repeat(i % 5), {max_tokens: 8 + (i % 4) * 6}));
  const sequential = [];
  for (const r of reqs) sequential.push(answer(await oa.chat.completions.create(r)));
  const t0 = Date.now();
  const concurrent = (await Promise.all(reqs.map((r) => oa.chat.completions.create(r)))).map(answer);
  const ms = Date.now() - t0;
  assert.deepEqual(concurrent, sequential);
  const m = await metrics(s);
  assert.equal(m.r1_slots_busy, 0);
  assert.ok(m['r1_batch_sequences_bucket{le="1"}'] < m.r1_batch_sequences_count, "some steps batched several sequences");
  console.log(`# 16 concurrent requests in ${ms} ms`);
});

test("a client that disconnects frees its slot at once (streaming and not)", {skip}, async () => {
  const s = await start(["--parallel", "1", "-c", "4096"]);
  const oa = client(s);
  const endless = chat("never stop", {max_tokens: 4000, ignore_eos: true});
  // Streaming: read three chunks, then abort.
  const stream = await oa.chat.completions.create({...endless, stream: true});
  let n = 0;
  for await (const _ of stream) if (++n === 3) break;  // leaving the loop aborts the request
  const freed = await until(async () => {
    const m = await metrics(s);
    return m.r1_slots_busy === 0 && m.r1_generations_cancelled_total === 1 ? m : null;
  }, 3000);
  assert.ok(freed, "the slot was freed and the generation cancelled");
  assert.ok(freed['r1_generated_tokens_total{part="reasoning"}'] + freed['r1_generated_tokens_total{part="content"}'] < 4000);
  // Non-streaming: the client closes its socket while the server is generating.
  const sock = net.connect(s.port, "127.0.0.1");
  sock.write(rawPost("/v1/chat/completions", JSON.stringify(endless)));
  await until(async () => (await metrics(s)).r1_slots_busy === 1, 3000);
  sock.destroy();
  assert.ok(await until(async () => {
    const m = await metrics(s);
    return m.r1_slots_busy === 0 && m.r1_generations_cancelled_total === 2;
  }, 3000), "closing the socket cancelled the non-streaming request");
  // The slot serves the next request.
  const r = await oa.chat.completions.create(chat("next", {max_tokens: 4}));
  assert.equal(r.choices.length, 1);
});

test("a full queue answers 429 with Retry-After; the queued request still completes", {skip}, async () => {
  const s = await start(["--parallel", "1", "--max-queue", "1", "-c", "4096"]);
  const oa = client(s);
  const ctrl = new AbortController();
  const running = await oa.chat.completions.create({...chat("hog", {max_tokens: 4000, ignore_eos: true}), stream: true},
                                                   {signal: ctrl.signal});
  const it = running[Symbol.asyncIterator]();
  await it.next();  // the slot is busy
  const queued = oa.chat.completions.create(chat("wait for me", {max_tokens: 4}));
  await until(async () => (await metrics(s)).r1_queue_depth === 1, 3000);
  const full = await http(s, "/v1/chat/completions", {method: "POST", body: chat("one too many", {max_tokens: 4})});
  assert.equal(full.status, 429);
  assert.equal(full.json.error.code, "rate_limit_exceeded");
  assert.ok(Number(full.headers.get("retry-after")) >= 1);
  await assert.rejects(oa.chat.completions.create(chat("via client", {max_tokens: 4})), (e) => e.status === 429);
  ctrl.abort();
  const q = await queued;
  assert.equal(q.choices.length, 1);
  assert.equal((await metrics(s))['r1_requests_rejected_total{reason="queue_full"}'], 2);
});

test("hostile inputs get OpenAI-shaped 4xx errors and the server keeps serving", {skip}, async () => {
  const s = await start(["--parallel", "2", "-c", "512", "--max-body", "65536", "--read-timeout", "2"]);
  const oa = client(s);
  const post = (body, headers) => rawHttp(s.port, rawPost("/v1/chat/completions", body, headers));
  const expect = async (body, status, param) => {
    const r = await post(body);
    assert.equal(r.status, status, `${String(body).slice(0, 60)} -> ${r.text.slice(0, 300)}`);
    const j = JSON.parse(r.text.slice(r.text.indexOf("\r\n\r\n") + 4));
    assert.equal(typeof j.error.message, "string");
    assert.equal(typeof j.error.type, "string");
    assert.ok("param" in j.error && "code" in j.error);
    if (param !== undefined) assert.equal(j.error.param, param);
    return j.error;
  };
  await expect("{not json", 400);
  await expect("", 400);
  await expect("[]", 400);
  await expect(JSON.stringify({messages: "hello"}), 400, "messages");
  await expect(JSON.stringify({model: "x"}), 400, "messages");
  await expect(JSON.stringify({messages: [{role: "user"}]}), 400, "messages[0].content");
  await expect(JSON.stringify({messages: [{role: "user", content: "x"}], temperature: "warm"}), 400, "temperature");
  await expect(JSON.stringify({messages: [{role: "user", content: "x"}], max_tokens: -5}), 400, "max_tokens");
  await expect(JSON.stringify({messages: [{role: "user", content: "x"}], max_tokens: 1e15}), 400, "max_tokens");
  await expect(JSON.stringify({messages: [{role: "user", content: "x"}], n: 1000}), 400, "n");
  await expect(JSON.stringify({messages: [{role: "user", content: "x"}], stop: {a: 1}}), 400, "stop");
  const nf = await expect(JSON.stringify({model: "gpt-4o", messages: [{role: "user", content: "x"}]}), 404, "model");
  assert.equal(nf.code, "model_not_found");
  // Invalid UTF-8 bytes are replaced by U+FFFD as in the CLI: the server's ids for raw
  // invalid bytes equal `r1 tokenize` on the same bytes. A lone surrogate escape -> 400.
  const bad = Buffer.from([0x61, 0xff, 0xc0, 0x80, 0x62, 0xe2, 0x82]);
  const viaHttp = await rawHttp(s.port, rawPost("/tokenize", Buffer.concat([Buffer.from('{"content":"'), bad,
                                                                            Buffer.from('"}')])));
  assert.equal(viaHttp.status, 200);
  const httpIds = JSON.parse(viaHttp.text.slice(viaHttp.text.indexOf("\r\n\r\n") + 4)).tokens;
  const cli = spawnSync(R1_BIN, ["tokenize", "-m", MODEL, "--json", "--no-bos"], {input: bad, encoding: "utf8"});
  assert.equal(cli.status, 0, cli.stderr);
  assert.deepEqual(httpIds, JSON.parse(cli.stdout));
  const badChat = await post(Buffer.concat([Buffer.from('{"max_tokens":2,"messages":[{"role":"user","content":"'),
                                            Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('"}]}')]));
  assert.equal(badChat.status, 200, badChat.text.slice(0, 300));
  await expect('{"messages":[{"role":"user","content":"\\ud800"}]}', 400);
  await expect("[".repeat(5000) + "]".repeat(5000), 400);  // nesting bomb
  // A prompt longer than the context.
  const long = await expect(JSON.stringify({messages: [{role: "user", content: "word ".repeat(3000)}]}), 400, "messages");
  assert.equal(long.code, "context_length_exceeded");
  // Bodies over --max-body: declared (answered before the body is read) and sent.
  const declared = await rawHttp(s.port, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                                         "Content-Length: 1000000000\r\n\r\n{\"messages\":");
  assert.equal(declared.status, 413);
  const big = await http(s, "/v1/chat/completions", {method: "POST", body: {messages: [{role: "user", content: "a".repeat(100000)}]}});
  assert.equal(big.status, 413);
  assert.equal(big.json.error.code, "request_too_large");
  // Unknown fields are ignored; so is a form content type.
  const ok = await post(JSON.stringify({...chat("hi", {max_tokens: 2}), frobnicate: {deep: [1, 2]}, user: "u"}),
                        {});
  assert.equal(ok.status, 200);
  const form = await rawHttp(s.port, rawPost("/v1/chat/completions", JSON.stringify(chat("hi", {max_tokens: 2})))
                                         .toString().replace("application/json", "application/x-www-form-urlencoded"));
  assert.equal(form.status, 200);
  // Unknown routes and methods.
  assert.equal((await http(s, "/v1/nothing")).status, 404);
  assert.equal((await http(s, "/v1/chat/completions")).status, 404);

  // Slow loris: connections that trickle a header byte by byte do not block others,
  // and a connection that stops sending is dropped after --read-timeout.
  const lorises = [...Array(8).keys()].map(() => {
    const sock = net.connect(s.port, "127.0.0.1");
    sock.on("error", () => {});
    sock.write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    const timer = setInterval(() => sock.write("a"), 300);
    return {sock, timer};
  });
  const idle = net.connect(s.port, "127.0.0.1");
  idle.on("error", () => {});
  // Dropped: the server answers 400 (or just closes) once a read times out.
  const idleClosed = new Promise((r) => {
    idle.on("data", () => r(Date.now()));
    idle.on("close", () => r(Date.now()));
  });
  let served, t0, closedAt;
  try {
    await new Promise((r) => idle.on("connect", r));
    t0 = Date.now();
    idle.write("GET /health HTTP/1.1\r\nHost: x\r\n");  // never finished
    served = await oa.chat.completions.create(chat("still there?", {max_tokens: 4}));
    assert.ok(Date.now() - t0 < 3000, "served while slow clients hold connections");
    closedAt = await Promise.race([idleClosed, sleep(8000).then(() => null)]);
  } finally {
    idle.destroy();
    for (const l of lorises) {
      clearInterval(l.timer);
      l.sock.destroy();
    }
  }
  assert.equal(served.choices.length, 1);
  assert.ok(closedAt && closedAt - t0 < 5000, "an idle partial request is dropped");
  console.log(`# idle partial request dropped after ${closedAt - t0} ms (--read-timeout 2)`);
  // Still up and serving, same as before.
  assert.equal((await http(s, "/health")).status, 200);
  const after = await oa.chat.completions.create(chat("still there?", {max_tokens: 4}));
  assert.equal(answer(after), answer(served));
});

test("SIGTERM drains: running work finishes, new work gets 503, then the process exits 0", {skip}, async () => {
  // Long enough (6000 tokens) that the drain is still running while the test probes it,
  // even on a fast machine; 300 tokens could end before the first probe under load.
  const s = await start(["--parallel", "1", "-c", "8192", "--max-queue", "4"]);
  const oa = client(s);
  const stream = await oa.chat.completions.create({...chat("drain me", {max_tokens: 6000, ignore_eos: true}), stream: true});
  const it = stream[Symbol.asyncIterator]();
  await it.next();
  s.proc.kill("SIGTERM");
  await until(async () => (await http(s, "/health")).status === 503, 3000);
  const refused = await http(s, "/v1/chat/completions", {method: "POST", body: chat("late", {max_tokens: 2})});
  assert.equal(refused.status, 503);
  assert.equal(refused.json.error.code, "server_shutting_down");
  let finish = null;
  for (let r = await it.next(); !r.done; r = await it.next()) finish = r.value.choices[0]?.finish_reason ?? finish;
  assert.equal(finish, "length", "the running request completed");
  const {code} = await s.exited;
  assert.equal(code, 0);
});
