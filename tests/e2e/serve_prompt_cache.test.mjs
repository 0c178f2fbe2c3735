// The host-RAM prompt cache of `r1 serve` (--cache-ram): two conversations take turns on
// ONE slot, so each turn finds the other conversation in the slot; every history is sent
// back with the reasoning stripped (the R1-Distill template drops it). With the cache,
// each turn's cached_tokens covers the previous turn's whole prompt but the reopened
// reasoning tag (the first difference); with --cache-ram 0 it covers only what the two
// conversations share. /metrics counts the hits.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import {R1_BIN, makeModel, client, http, metrics, startServer} from "./serve_util.mjs";

const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-e2e-prompt-cache");
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";
const TURNS = 10;
let withCache, without;

before(async () => {
  if (skip) return;
  fs.mkdirSync(TMP, {recursive: true});
  const model = makeModel(TMP, "cache.gguf");
  withCache = await startServer(model, ["--parallel", "1", "-c", "4096", "--cache-ram", "256"]);
  without = await startServer(model, ["--parallel", "1", "-c", "4096", "--cache-ram", "0"]);
});

after(async () => {
  for (const s of [withCache, without]) if (s) await s.stop();
});

// Plays two conversations turn by turn; returns, per turn of conversation A, its
// cached_tokens and the previous turn's prompt_tokens.
async function play(server) {
  const api = client(server);
  const convs = {
    A: [{role: "system", content: "You are a careful assistant for arithmetic. ".repeat(6)}],
    B: [{role: "system", content: "Answer questions about geography in one line. ".repeat(6)}],
  };
  const rows = [];
  let prevA = 0;
  for (let turn = 0; turn < TURNS; turn++) {
    for (const name of ["A", "B"]) {
      const msgs = convs[name];
      msgs.push({role: "user", content: `Question ${turn} of ${name}: what is ${turn} + ${turn * 7}?`});
      const r = await api.chat.completions.create({model: "cache", messages: msgs, max_tokens: 12, seed: turn,
                                                   thinking_budget: 6});
      const u = r.usage;
      if (name === "A") {
        rows.push({turn, cached: u.prompt_tokens_details.cached_tokens, prompt: u.prompt_tokens, prevPrompt: prevA});
        prevA = u.prompt_tokens;
      }
      // The client sends back the answer only (the reasoning is not part of the history).
      msgs.push({role: "assistant", content: r.choices[0].message.content});
    }
  }
  return rows;
}

test("a conversation resumes from the host cache after another one used the slot", {skip, timeout: 120000}, async () => {
  const rows = await play(withCache);
  console.log("with cache:", JSON.stringify(rows.map((r) => [r.cached, r.prompt])));
  for (const r of rows.slice(1)) {
    // Everything of the previous prompt but the reopened "<think>\n" at its end is reused.
    assert.ok(r.cached >= r.prevPrompt - 4, `turn ${r.turn}: cached ${r.cached} of ${r.prompt}, previous prompt ${r.prevPrompt}`);
    assert.ok(r.cached < r.prompt);
  }
  const m = await metrics(withCache);
  assert.ok(m["r1_prompt_cache_hits_total"] >= TURNS - 1, JSON.stringify(m["r1_prompt_cache_hits_total"]));
  assert.ok(m["r1_prompt_cache_bytes"] > 0);
  assert.ok(m["r1_prompt_cache_bytes"] <= 256 * 1024 * 1024);

  const plain = await play(without);
  console.log("without:", JSON.stringify(plain.map((r) => [r.cached, r.prompt])));
  for (const r of plain.slice(1))
    assert.ok(r.cached < r.prevPrompt / 2, `without the cache, turn ${r.turn} still had ${r.cached} cached`);
  assert.equal((await metrics(without))["r1_prompt_cache_hits_total"], 0);
});

test("slot files: save, erase, restore; names and files are checked", {skip, timeout: 60000}, async () => {
  const dir = path.join(TMP, "slots");
  fs.mkdirSync(dir, {recursive: true});
  const model = path.join(TMP, "cache.gguf");
  const s = await startServer(model, ["--parallel", "1", "-c", "2048", "--cache-ram", "0", "--slot-save-path", dir]);
  try {
    const api = client(s);
    const msgs = [{role: "user", content: "Tell me about the number seven. ".repeat(8)}];
    const first = await api.chat.completions.create({model: "cache", messages: msgs, max_tokens: 4, seed: 1});
    const post = (q, body) => http(s, `/slots/0?action=${q}`, {method: "POST", body});
    const saved = await post("save", {filename: "seven.bin"});
    assert.equal(saved.status, 200, saved.text);
    assert.ok(saved.json.n_saved >= first.usage.prompt_tokens);
    assert.ok(fs.statSync(path.join(dir, "seven.bin")).size === saved.json.n_written);
    assert.equal((await post("erase")).status, 200);
    const cold = await api.chat.completions.create({model: "cache", messages: msgs, max_tokens: 4, seed: 1});
    assert.ok(cold.usage.prompt_tokens_details.cached_tokens <= 1);  // nothing left in the slot to reuse... but itself
    assert.equal((await post("erase")).status, 200);
    const restored = await post("restore", {filename: "seven.bin"});
    assert.equal(restored.status, 200, restored.text);
    assert.equal(restored.json.n_restored, saved.json.n_saved);
    const warm = await api.chat.completions.create({model: "cache", messages: msgs, max_tokens: 4, seed: 1});
    assert.equal(warm.usage.prompt_tokens_details.cached_tokens, first.usage.prompt_tokens - 1);
    assert.deepEqual(warm.choices[0].message, first.choices[0].message);  // same state, same answer
    // Refusals: paths, unknown slots and actions, files that are not slot files.
    for (const name of ["../x", "/etc/passwd", ".hidden", "a/b", ""])
      assert.equal((await post("save", {filename: name})).json.error.param, "filename", name);
    assert.equal((await http(s, "/slots/7?action=save", {method: "POST", body: {filename: "x"}})).status, 404);
    assert.equal((await post("fly", {filename: "x"})).status, 400);
    fs.writeFileSync(path.join(dir, "junk.bin"), "not a slot file at all, certainly not");
    const junk = await post("restore", {filename: "junk.bin"});
    assert.equal(junk.status, 400);
    assert.match(junk.json.error.message, /not a slot file/);
    assert.equal((await post("restore", {filename: "missing.bin"})).status, 400);
    assert.equal(fs.readdirSync(dir).filter((f) => f.includes(".tmp")).length, 0, "no temporary files left");
  } finally {
    await s.stop();
  }
  const off = await startServer(model, ["--parallel", "1", "-c", "2048"]);
  try {
    const r = await http(off, "/slots/0?action=save", {method: "POST", body: {filename: "x.bin"}});
    assert.equal(r.status, 403);
  } finally {
    await off.stop();
  }
});
