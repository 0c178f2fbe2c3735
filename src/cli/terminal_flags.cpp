#include "cli/terminal_flags.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "base/error.hpp"
#include "base/file_text.hpp"
#include "grammar/gbnf.hpp"
#include "grammar/json_schema.hpp"
#include "pull/model_ref.hpp"
#include "pull/pull.hpp"

namespace r1::cli {

void add_gen_flags(CLI::App& sub, GenFlags& f) {
  sub.add_option("-m,--model", f.model,
                 "model file (GGUF; default: $R1_MODEL, else the bundled " + std::string(kBundledModel) + ")");
  sub.add_option("-t,--threads", f.threads, "threads (0 = physical cores)");
  sub.add_flag("--allow-paging", f.allow_paging,
               "run weights larger than the available memory from the memory map (paged from disk; slow)");
  sub.add_option("-c,--ctx", f.ctx, "context length in tokens (0 = the model's, at most 8192)");
  sub.add_option("-n,--n-predict", f.n_predict, "max tokens to generate (-1 = until the context is full)")
      ->capture_default_str();
  sub.add_option("--temp", f.sampling.temperature, "temperature (0 = greedy)")->capture_default_str();
  sub.add_option("--top-p", f.sampling.top_p, "nucleus sampling (1 = off)")->capture_default_str();
  sub.add_option("--top-k", f.sampling.top_k, "top-k sampling (0 = off)")->capture_default_str();
  sub.add_option("--min-p", f.sampling.min_p, "min-p sampling (0 = off)")->capture_default_str();
  sub.add_option("--repeat-penalty", f.sampling.repeat_penalty, "repetition penalty (1 = off)")
      ->capture_default_str();
  sub.add_option("--seed", f.sampling.seed, "random seed (4294967295 = random)");
  sub.add_flag("--no-think", f.no_think, "skip the reasoning block (answer at once)");
  sub.add_option("--think-budget", f.think_budget,
                 "end the reasoning after N tokens and continue with the answer (-1 = no limit)");
  sub.add_option("--system", f.system, "system prompt");
  sub.add_flag("--ignore-eos", f.ignore_eos, "do not stop at end-of-generation tokens (benchmarks)");
  sub.add_option("--grammar", f.grammar, "constrain the answer to a GBNF grammar (llama.cpp syntax; after the reasoning)");
  sub.add_option("--grammar-file", f.grammar_file, "read the GBNF grammar from a file");
  sub.add_option("--json-schema", f.json_schema, "constrain the answer to JSON matching this JSON Schema");
  sub.add_option("--json-schema-file", f.json_schema_file, "read the JSON Schema from a file");
  add_spec_flags(sub, f.spec);
}

std::string resolve_model(const std::string& given) {
  namespace fs = std::filesystem;
  if (!given.empty()) return resolve_model_name(given);
  if (const char* env = std::getenv("R1_MODEL"); env && *env) return env;
  // Next to the program's source tree (build/r1 -> models/), then the working directory.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& root : {exe.parent_path().parent_path(), exe.parent_path()}) {
      const fs::path p = root / kBundledModel;
      if (fs::exists(p, ec)) return p.string();
    }
  }
  if (fs::exists(kBundledModel, ec)) return kBundledModel;
  fail("no model given: pass -m MODEL.gguf or set R1_MODEL (the bundled default {} was not found next to the "
       "program or in the working directory)", kBundledModel);
}

std::string resolve_model_name(const std::string& given) {
  if (!pull::is_pulled_model_name(given)) return given;
  return pull::resolve_pulled(given).string();
}

void check_gen_flags(const GenFlags& f) {
  const SamplingParams& s = f.sampling;
  if (f.threads < 0) fail("-t/--threads must be >= 0, got {}", f.threads);
  if (f.ctx < 0) fail("-c/--ctx must be >= 0, got {}", f.ctx);
  if (f.n_predict < -1) fail("-n/--n-predict must be >= -1, got {}", f.n_predict);
  if (!std::isfinite(s.temperature) || s.temperature < 0) fail("--temp must be >= 0, got {}", s.temperature);
  if (!(s.top_p > 0 && s.top_p <= 1)) fail("--top-p must be in (0, 1], got {}", s.top_p);
  if (s.top_k < 0) fail("--top-k must be >= 0, got {}", s.top_k);
  if (!(s.min_p >= 0 && s.min_p <= 1)) fail("--min-p must be in [0, 1], got {}", s.min_p);
  if (!(s.repeat_penalty > 0) || !std::isfinite(s.repeat_penalty))
    fail("--repeat-penalty must be > 0, got {}", s.repeat_penalty);
  if (f.think_budget < -1) fail("--think-budget must be >= -1, got {}", f.think_budget);
  if (f.no_think && f.think_budget >= 0) fail("--no-think and --think-budget cannot be used together");
  const int constraints = !f.grammar.empty() + !f.grammar_file.empty() + !f.json_schema.empty() + !f.json_schema_file.empty();
  if (constraints > 1) fail("give at most one of --grammar, --grammar-file, --json-schema, --json-schema-file");
}

void apply_gen_flags(const GenFlags& f, GenerateRequest& req) {
  req.sampling = f.sampling;
  req.max_tokens = f.n_predict;
  req.no_think = f.no_think;
  req.think_budget = f.think_budget;
  req.ignore_eos = f.ignore_eos;
  std::string gbnf;
  std::string what;
  try {
    if (!f.grammar.empty()) {
      what = "--grammar";
      gbnf = f.grammar;
    } else if (!f.grammar_file.empty()) {
      what = "--grammar-file " + f.grammar_file;
      gbnf = read_file_text(f.grammar_file, 1u << 20);
    } else if (!f.json_schema.empty() || !f.json_schema_file.empty()) {
      what = f.json_schema.empty() ? "--json-schema-file " + f.json_schema_file : "--json-schema";
      std::string text = f.json_schema.empty() ? read_file_text(f.json_schema_file, 1u << 20) : f.json_schema;
      nlohmann::ordered_json schema = nlohmann::ordered_json::parse(text, nullptr, false);
      if (schema.is_discarded()) fail("not valid JSON");
      gbnf = grammar::json_schema_to_gbnf(schema);
    } else {
      return;
    }
    req.grammar = std::make_shared<const grammar::Grammar>(grammar::parse_gbnf(gbnf));
  } catch (const Error& e) {
    fail("{}: {}", what, e.what());
  }
}

}  // namespace r1::cli
