// r1 eval: k samples per problem of a JSONL set; verified answers; pass@1 (mean
// over k), pass@k (unbiased), maj@k, reasoning length, share truncated; every
// sample with its trace to JSONL (resumable); summary JSON, CSV and SVG.
#include <fmt/format.h>

#include <memory>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "cli/terminal_flags.hpp"
#include "eval/evaluator.hpp"
#include "model/model.hpp"

namespace r1::cli {
namespace {

struct EvalCli {
  std::string model;
  eval::EvalOptions o;
  int threads = 0;
  bool quiet = false;
  SpecFlags spec;
};

void print_summary(const std::string& name, const eval::Summary& s) {
  fmt::print("{:<12} {:>8} {:>8} {:>8.3f} {:>8.3f} {:>8.3f} {:>10.1f} {:>9.3f}\n", name, s.problems, s.samples, s.pass1,
             s.pass_k, s.maj_k, s.mean_reasoning_tokens, s.truncated_share);
}

int run_eval_cli(const EvalCli& c) {
  auto model = Model::load(resolve_model_name(c.model), {.n_threads = c.threads});
  const LoadedSpeculation spec = load_speculation(c.spec, *model, {.n_threads = c.threads});
  eval::EvalOptions o = c.o;
  o.speculation = spec.options;
  const bool quiet = c.quiet;
  const eval::EvalReport rep = eval::run_eval(*model, o, [quiet](const std::string& line) {
    if (!quiet) fmt::print(stderr, "{}\n", line);
  });
  const int k = rep.overall.k;
  fmt::print("{:<12} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9}\n", "group", "problems", "samples", "pass@1",
             fmt::format("pass@{}", k), fmt::format("maj@{}", k), "reason.tok", "truncated");
  print_summary("all", rep.overall);
  for (const auto& [g, s] : rep.by_group) print_summary(g, s);
  fmt::print(stderr, "samples: {}\nsummary: {}\n", rep.samples_path, rep.summary_path);
  return 0;
}

const bool registered = register_command({
    .name = "eval",
    .help = "evaluate a model on a JSONL problem set: pass@1, pass@k, maj@k with verified answers",
    .setup = [](CLI::App& sub) -> Action {
      auto c = std::make_shared<EvalCli>();
      c->o.sampling.temperature = 0.6f;
      c->o.sampling.top_p = 0.95f;
      c->o.sampling.seed = 1;
      sub.add_option("-m,--model", c->model, "GGUF model")->required();
      add_spec_flags(sub, c->spec);
      sub.add_option("--data", c->o.data, "problems JSONL (question/answer, messages, GSM8K, countdown)")->required();
      sub.add_option("-k,--samples", c->o.samples, "samples per problem (k)")->capture_default_str();
      sub.add_option("--temp", c->o.sampling.temperature, "sampling temperature (0 = greedy)")->capture_default_str();
      sub.add_option("--top-p", c->o.sampling.top_p, "nucleus sampling")->capture_default_str();
      sub.add_option("--top-k", c->o.sampling.top_k, "top-k (0 = off)")->capture_default_str();
      sub.add_option("--max-tokens", c->o.max_tokens, "generated tokens per sample")->capture_default_str();
      sub.add_option("--seed", c->o.sampling.seed, "base seed (each sample's seed derives from it and the id)")
          ->capture_default_str();
      sub.add_option("-o,--out", c->o.out, "samples JSONL (default: <data>.samples.jsonl); rerun to resume");
      sub.add_option("--batch", c->o.max_batch, "sequences decoded together")->capture_default_str();
      sub.add_option("--limit", c->o.limit, "first N problems only");
      sub.add_option("--prompt-suffix", c->o.prompt_suffix, "text appended to the last user message");
      sub.add_option("-t,--threads", c->threads, "threads (0 = physical cores)");
      sub.add_flag("-q,--quiet", c->quiet, "no progress lines");
      return [c] { return run_eval_cli(*c); };
    }});

}  // namespace
}  // namespace r1::cli
