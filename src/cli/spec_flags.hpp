// Speculative decoding flags shared by run, chat, serve, eval and bench (llama.cpp's names
// where it has them: --draft-max, --draft-min, --draft-p-min, --model-draft).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/speculation.hpp"
#include "model/model.hpp"

namespace r1::cli {

struct SpecFlags {
  std::string mode;         // --spec: none | ngram | draft ("" = draft with --draft, else none)
  std::string draft_model;  // --draft FILE
  int32_t draft_max = 8;
  int32_t draft_min = 1;
  float draft_p_min = 0.75f;
  int32_t ngram_min = 2, ngram_max = 4;
};

void add_spec_flags(CLI::App& sub, SpecFlags& f);

// The options for the engine, with the draft model loaded (its vocabulary checked against
// `target`'s) when the mode needs one. Throws r1::Error naming the flag.
struct LoadedSpeculation {
  SpeculationOptions options;
  std::unique_ptr<Model> draft;  // owns options.draft_model
};
LoadedSpeculation load_speculation(const SpecFlags& f, const Model& target, const ModelOptions& load);

}  // namespace r1::cli
