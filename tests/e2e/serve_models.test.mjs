// Several models behind one `r1 serve`: -m repeated and --models-dir, loaded on first use,
// unloaded least recently used first under --models-memory and after --models-ttl, requests
// naming their model (unknown ones: 404), per-model settings from --models-config.
// "Correct" answers: at temperature 0 each model answers exactly what `r1 run` gives on
// the same file, however often the models were swapped in and out.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import {R1_BIN, SOURCE_DIR, cli, client, http, metrics, startServer, sleep} from "./serve_util.mjs";

const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-e2e-models");
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";
const dir = path.join(TMP, "models");
const tmpl = path.join(SOURCE_DIR, "models/templates/deepseek-r1-distill.jinja");
const QUESTION = "What is 12 + 30?";

// The CLI's answer (reasoning + content) at temperature 0.
function reference(file, n) {
  const out = JSON.parse(cli(["run", "-m", file, "-p", QUESTION, "-n", String(n), "--temp", "0", "--json"]));
  return {reasoning: out.reasoning, content: out.content};
}

before(() => {
  if (skip) return;
  fs.mkdirSync(dir, {recursive: true});
  cli(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--seed", "41", "--chat-template", tmpl, "-o", path.join(dir, "alpha.gguf")]);
  cli(["gen-model", "--arch", "llama", "--preset", "tiny", "--seed", "42", "--chat-template", tmpl, "-o", path.join(dir, "beta.gguf")]);
});

test("two models alternate under a budget that holds one; both answer as the CLI does", {skip, timeout: 120000}, async () => {
  const size = fs.statSync(path.join(dir, "alpha.gguf")).size;
  // Room for one model's weights, KV and prompt cache, not two.
  const mib = Math.ceil((size * 1.5) / (1 << 20)) + 70;
  const s = await startServer(path.join(dir, "alpha.gguf"),
                              ["-m", path.join(dir, "beta.gguf"), "--parallel", "1", "-c", "1024", "--cache-ram", "64",
                               "--models-memory", String(mib)]);
  try {
    const api = client(s);
    const listed = await api.models.list();
    assert.deepEqual(listed.data.map((m) => m.id), ["alpha", "beta"]);
    const want = {alpha: reference(path.join(dir, "alpha.gguf"), 12), beta: reference(path.join(dir, "beta.gguf"), 12)};
    for (const round of [0, 1, 2])
      for (const name of ["alpha", "beta"]) {
        const r = await api.chat.completions.create({model: name, messages: [{role: "user", content: QUESTION}],
                                                     max_tokens: 12, temperature: 0});
        assert.equal(r.model, name);
        assert.equal(r.choices[0].message.reasoning_content, want[name].reasoning, `${name} round ${round}`);
        assert.equal(r.choices[0].message.content, want[name].content, `${name} round ${round}`);
      }
    const m = await metrics(s);
    assert.equal(m['r1_model_loads_total{model="alpha"}'], 3);  // at start, then after each of beta's turns
    assert.equal(m['r1_model_loads_total{model="beta"}'], 3);
    assert.equal(m['r1_model_unloads_total{model="alpha"}'], 3);
    assert.equal(m['r1_model_unloads_total{model="beta"}'], 2);
    assert.equal(m["r1_models_loaded"], 1);
    await assert.rejects(api.chat.completions.create({model: "gamma", messages: [{role: "user", content: "x"}]}),
                         (e) => e.status === 404 && e.code === "model_not_found");
    assert.equal((await http(s, "/v1/models/gamma")).status, 404);
  } finally {
    await s.stop();
  }
});

test("--models-dir, --models-config defaults and --models-ttl", {skip, timeout: 60000}, async () => {
  const more = path.join(TMP, "more");
  fs.mkdirSync(more, {recursive: true});
  fs.copyFileSync(path.join(dir, "beta.gguf"), path.join(more, "delta.gguf"));
  const cfg = path.join(TMP, "models.json");
  fs.writeFileSync(cfg, JSON.stringify({delta: {ctx: 512, parallel: 2, temperature: 0, max_tokens: 5}}));
  const s = await startServer(path.join(dir, "alpha.gguf"), ["--models-dir", more, "--models-config", cfg, "--models-ttl", "1"]);
  try {
    const api = client(s);
    assert.deepEqual((await api.models.list()).data.map((m) => m.id), ["alpha", "delta"]);
    // No temperature or max_tokens in the request: the model's defaults apply.
    const r = await api.chat.completions.create({model: "delta", messages: [{role: "user", content: QUESTION}]});
    assert.equal(r.usage.completion_tokens, 5);
    const want = reference(path.join(more, "delta.gguf"), 5);
    assert.equal(r.choices[0].message.reasoning_content, want.reasoning);
    const meta = (await api.models.retrieve("delta")).meta;
    assert.equal(meta.loaded, true);
    assert.equal(meta.n_ctx, 512);
    assert.equal(meta.parallel, 2);
    // Idle for longer than the TTL: unloaded (alpha too: it is idle as well).
    await sleep(3000);
    const m = await metrics(s);
    assert.equal(m['r1_model_loaded{model="delta"}'], 0);
    assert.ok(m['r1_model_unloads_total{model="delta"}'] >= 1);
    // And loaded again on the next request.
    const again = await api.chat.completions.create({model: "delta", messages: [{role: "user", content: QUESTION}]});
    assert.equal(again.choices[0].message.reasoning_content, want.reasoning);
  } finally {
    await s.stop();
  }
  // A config naming no served model, or an unknown setting, stops the server at start.
  fs.writeFileSync(cfg, JSON.stringify({nobody: {ctx: 512}}));
  await assert.rejects(startServer(path.join(dir, "alpha.gguf"), ["--models-config", cfg]), /no model named 'nobody'/);
  fs.writeFileSync(cfg, JSON.stringify({alpha: {colour: "red"}}));
  await assert.rejects(startServer(path.join(dir, "alpha.gguf"), ["--models-config", cfg]), /unknown setting 'alpha.colour'/);
});
