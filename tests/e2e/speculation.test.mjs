// Speculative decoding from the outside: `r1 serve --spec ngram|draft` answers the same
// greedy tokens as a server without it (four parallel slots, streamed and not), counts
// drafts in /metrics, and `r1 run` / `r1 eval` accept the flags; a draft model with
// another vocabulary is refused with a message naming --draft.
import {test, before, after} from "node:test";
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import {R1_BIN, SOURCE_DIR, makeModel, client, metrics, startServer} from "./serve_util.mjs";

const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-e2e-speculation");
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";
const BUNDLED = path.join(SOURCE_DIR, "models/r1-tiny-reasoner.gguf");
const QUESTIONS = ["What is 487 + 356?", "What is 905 + 96?", "What is 230 + 771?", "What is 64 + 59?"];
let plain, ngram, draft;

before(async () => {
  if (skip) return;
  fs.mkdirSync(TMP, {recursive: true});
  const common = ["--parallel", "4", "-c", "384"];
  plain = await startServer(BUNDLED, common);
  ngram = await startServer(BUNDLED, [...common, "--spec", "ngram"]);
  draft = await startServer(BUNDLED, [...common, "--draft", BUNDLED, "--draft-max", "4"]);
});

after(async () => {
  for (const s of [plain, ngram, draft]) if (s) await s.stop();
});

async function answers(server, stream) {
  const api = client(server);
  return Promise.all(
    QUESTIONS.map(async (q) => {
      const req = {model: "r1-tiny-reasoner", messages: [{role: "user", content: q}], temperature: 0, max_tokens: 300};
      if (!stream) {
        const r = await api.chat.completions.create(req);
        return r.choices[0].message.reasoning_content + "|" + r.choices[0].message.content;
      }
      let reasoning = "", content = "";
      for await (const chunk of await api.chat.completions.create({...req, stream: true})) {
        const d = chunk.choices[0]?.delta ?? {};
        reasoning += d.reasoning_content ?? "";
        content += d.content ?? "";
      }
      return reasoning + "|" + content;
    }),
  );
}

test("serve: the same greedy answers with n-gram and draft-model speculation", {skip}, async () => {
  for (const stream of [false, true]) {
    const want = await answers(plain, stream);
    assert.ok(want.every((a) => /\\boxed\{\d+\}/.test(a)), want.join("\n"));
    assert.deepEqual(await answers(ngram, stream), want, `ngram, stream ${stream}`);
    assert.deepEqual(await answers(draft, stream), want, `draft, stream ${stream}`);
  }
  const m = await metrics(draft);
  assert.ok(m.r1_draft_tokens_total > 0, "drafts were verified");
  assert.ok(m.r1_draft_accepted_total >= m.r1_draft_tokens_total * 0.9, JSON.stringify(m));
  const p = await metrics(plain);
  assert.equal(p.r1_draft_tokens_total, 0);
  // Fewer forward passes for the same tokens.
  assert.ok(m.r1_batch_steps_total < p.r1_batch_steps_total * 0.6, `${m.r1_batch_steps_total} vs ${p.r1_batch_steps_total}`);
});

function run(args) {
  return spawnSync(R1_BIN, args, {encoding: "utf8", timeout: 60000});
}

test("run: --spec modes give the same tokens and report drafts", {skip}, () => {
  const base = ["run", "-m", BUNDLED, "--json", "--temp", "0", "-p", "What is 318 + 476?"];
  const a = JSON.parse(run(base).stdout);
  const b = JSON.parse(run([...base, "--spec", "ngram"]).stdout);
  const c = JSON.parse(run([...base, "--draft", BUNDLED]).stdout);
  assert.deepEqual(b.tokens, a.tokens);
  assert.deepEqual(c.tokens, a.tokens);
  assert.equal(a.timings.draft_n, undefined);
  assert.ok(c.timings.draft_n > 0 && c.timings.draft_n_accepted > 0, JSON.stringify(c.timings));
});

test("run: bad speculation flags are refused by name", {skip}, () => {
  const other = makeModel(TMP, "other-vocab.gguf");  // byte-level vocabulary, not the bundled one
  const cases = [
    [["--draft", other], /--draft .*vocabulary/],
    [["--spec", "draft"], /--spec draft needs a draft model/],
    [["--spec", "mtp"], /unknown speculation mode 'mtp'/],
    [["--spec", "ngram", "--draft-max", "100"], /--draft-max must be between 0 and 64/],
    [["--spec", "ngram", "--draft", BUNDLED], /--draft needs --spec draft/],
  ];
  for (const [flags, re] of cases) {
    const r = run(["run", "-m", BUNDLED, "-p", "hi", "-n", "4", ...flags]);
    assert.notEqual(r.status, 0, flags.join(" "));
    assert.match(r.stderr, re, flags.join(" "));
  }
});

test("eval: --spec ngram gives the same verdicts", {skip}, () => {
  const data = path.join(TMP, "sums.jsonl");
  fs.writeFileSync(data, QUESTIONS.map((q) => JSON.stringify({question: q, answer: String(eval(q.slice(8, -1)))})).join("\n") + "\n");
  const out = (flags, name) => {
    const file = path.join(TMP, name);
    fs.rmSync(file, {force: true});  // eval resumes an existing samples file
    const r = run(["eval", "-m", BUNDLED, "--data", data, "--temp", "0", "--max-tokens", "300", "--out", file, "-q", ...flags]);
    assert.equal(r.status, 0, r.stderr);
    return fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  };
  const a = out([], "plain.samples.jsonl"), b = out(["--spec", "ngram"], "ngram.samples.jsonl");
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; ++i) assert.deepEqual(b[i], a[i]);
});
