// Oracle harness: llama.cpp's grammar sampler (through node-llama-cpp's LlamaGrammar).
//
// Contract: constrainedGreedy(path, ids, gbnf, maxTokens) -> number[]: the tokens llama.cpp
// generates at temperature 0 after the prompt ids with its grammar sampler on `gbnf`
// (root rule "root"), until an end-of-generation token (not included) or maxTokens.
// Rejects with llama.cpp's message when it cannot parse the grammar.
import * as L from "./llama.mjs";

export async function constrainedGreedy(path, ids, gbnf, maxTokens) {
  const llama = await L.llamaInstance();
  const model = await L.loadModel(path);
  const grammar = await llama.createGrammar({grammar: gbnf});
  const {LlamaGrammarEvaluationState} = await import("node-llama-cpp");
  const state = new LlamaGrammarEvaluationState({model, grammar});
  const size = Math.max(256, Math.ceil((ids.length + maxTokens + 8) / 256) * 256);
  const ctx = await model.createContext({contextSize: size, batchSize: size, threads: 1, flashAttention: false, sequences: 1});
  try {
    const seq = ctx.getSequence();
    const out = [];
    for await (const tok of seq.evaluate(ids, {temperature: 0, grammarEvaluationState: state})) {
      out.push(tok);
      if (out.length >= maxTokens) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}
