// Flags shared by the terminal generation commands (run, chat): model, context,
// threads, sampling and reasoning options. Values are checked by
// check_gen_flags(), which throws r1::Error naming the flag, so every bad value is
// reported as "r1: ..." like any other error.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/spec_flags.hpp"
#include "engine/generate.hpp"

namespace r1::cli {

struct GenFlags {
  std::string model;          // -m
  int threads = 0;            // -t (0: physical cores)
  bool allow_paging = false;  // --allow-paging
  int64_t ctx = 0;            // -c (0: the model's, at most 8192)
  int32_t n_predict = -1;     // -n (-1: until the context is full)
  SamplingParams sampling;
  bool no_think = false;
  int32_t think_budget = -1;
  bool ignore_eos = false;
  std::string system;         // --system
  std::string grammar;        // --grammar (GBNF text)
  std::string grammar_file;   // --grammar-file
  std::string json_schema;    // --json-schema (JSON text)
  std::string json_schema_file;  // --json-schema-file
  SpecFlags spec;             // --spec, --draft, ... (load_speculation)
};

// The project's own small reasoning model, relative to the source tree.
inline constexpr const char* kBundledModel = "models/r1-tiny-reasoner.gguf";

void add_gen_flags(CLI::App& sub, GenFlags& f);
// The model to load: `given` (-m) if set, else $R1_MODEL, else the bundled model found
// beside the program (build/r1 -> ../models/) or in the working directory; fails with a
// message naming both ways to choose one when there is none.
std::string resolve_model(const std::string& given);
// -m of every command: a path as given, or a pulled model's name (hf://ORG/REPO[:QUANT],
// NAME:TAG; pull/model_ref.hpp) resolved from the caches without network.
std::string resolve_model_name(const std::string& given);
void check_gen_flags(const GenFlags& f);
// The request fields that come from the flags (sampling, limits, reasoning, the
// answer's grammar: reads and parses --grammar-file / --json-schema-file, throwing
// r1::Error naming the flag for an unreadable file or an invalid grammar or schema).
void apply_gen_flags(const GenFlags& f, GenerateRequest& req);

}  // namespace r1::cli
