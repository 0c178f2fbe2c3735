// r1 bench: prefill and decode speed, llama-bench style (rows pp512 / tg128 /
// tg128 @ d2048, mean ± sample standard deviation in tokens per second).
// -o md prints a table plus one line naming the kernels (ISA) and threads used;
// -o json prints a JSON array with llama-bench's field names, -o jsonl one object a line.
#include <cstdio>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "cli/command.hpp"
#include "cli/terminal_flags.hpp"
#include "engine/bench.hpp"
#include "format/gguf.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/types.hpp"
#include "model/model.hpp"

namespace r1::cli {
namespace {

struct BenchCliOptions {
  std::string model;
  std::vector<int64_t> n_prompt{512}, n_gen{128}, n_depth{0}, n_seq{1};
  std::vector<int> threads{0};
  int reps = 5;
  std::string output = "md";
  uint64_t seed = 1234;
};

// What llama-bench shows as model type: "qwen2 1.8B Q4_0" (the type holding most bytes).
struct ModelFacts {
  std::string type, filename;
  int64_t n_params = 0;
  size_t size = 0;  // bytes of tensor data
};

ModelFacts model_facts(const Model& m, const std::string& path) {
  ModelFacts f;
  f.filename = path;
  std::map<std::string, size_t> bytes_by_type;
  if (!m.file()) return f;
  for (const auto& t : m.file()->tensors()) {
    f.n_params += t.n_elements();
    f.size += t.nbytes;
    if (t.shape.size() >= 2) bytes_by_type[std::string(dtype_name(t.type))] += t.nbytes;
  }
  std::string main_type = "?";
  size_t best = 0;
  for (const auto& [name, b] : bytes_by_type)
    if (b > best) best = b, main_type = name;
  for (auto& c : main_type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  f.type = fmt::format("{} {:.1f}B {}", arch_name(m.config().arch), static_cast<double>(f.n_params) / 1e9, main_type);
  return f;
}

nlohmann::json to_json(const BenchResult& r, const ModelFacts& f, const Model& m) {
  return {
      {"model_filename", f.filename},
      {"model_type", f.type},
      {"model_size", f.size},
      {"model_n_params", f.n_params},
      {"backends", "CPU"},
      {"kernel_isa", kernels_name()},
      {"n_threads", r.n_threads},
      {"n_batch", r.n_prompt > 0 ? r.n_prompt : 1},
      {"type_k", "f16"},
      {"type_v", "f16"},
      {"n_prompt", r.n_prompt},
      {"n_gen", r.n_gen},
      {"n_depth", r.n_depth},
      {"n_seq", r.n_seq},
      {"avg_ns", static_cast<int64_t>(r.avg_ns)},
      {"stddev_ns", static_cast<int64_t>(r.stddev_ns)},
      {"avg_ts", r.avg_ts},
      {"stddev_ts", r.stddev_ts},
      {"samples_ns", r.samples_ns},
      {"samples_ts", r.samples_ts},
      {"avg_cpu_ts", r.avg_cpu_ts},
      {"samples_cpu_ts", r.samples_cpu_ts},
      {"peak_rss_bytes", r.peak_rss_bytes},
      {"weight_bytes", m.weight_bytes()},
      {"kv_bytes_per_token", m.kv_bytes_per_token()},
  };
}

int run_bench_cmd(const BenchCliOptions& o) {
  if (o.output != "md" && o.output != "json" && o.output != "jsonl")
    fail("-o must be md, json or jsonl, got '{}'", o.output);
  for (int t : o.threads)
    if (t < 0) fail("-t/--threads must be >= 0, got {}", t);
  const bool md = o.output == "md";
  nlohmann::json all = nlohmann::json::array();
  bool header = false;
  for (int t : o.threads) {
    auto model = Model::load(resolve_model_name(o.model), ModelOptions{.n_threads = t});
    const ModelFacts facts = model_facts(*model, o.model);
    BenchOptions bo{.n_prompt = o.n_prompt, .n_gen = o.n_gen, .n_depth = o.n_depth, .n_seq = o.n_seq, .reps = o.reps, .seed = o.seed};
    run_bench(*model, bo, [&](const BenchResult& r) {
      if (md && !header) {  // on the first row, so that an invalid test prints only the error
        std::printf("| model | size | params | backend | threads | test | t/s |\n");
        std::printf("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
        header = true;
      }
      if (md) {
        std::printf("| %s | %.2f GiB | %.2f B | CPU (%s) | %d | %s | %.2f ± %.2f |\n", facts.type.c_str(),
                    static_cast<double>(facts.size) / (1024.0 * 1024 * 1024), static_cast<double>(facts.n_params) / 1e9,
                    kernels_name(), r.n_threads, r.name.c_str(), r.avg_ts, r.stddev_ts);
        std::fflush(stdout);
      } else if (o.output == "jsonl") {
        std::printf("%s\n", to_json(r, facts, *model).dump().c_str());
        std::fflush(stdout);
      } else {
        all.push_back(to_json(r, facts, *model));
      }
    });
    if (md)
      std::printf("\nkernels: %s, threads: %d, peak RSS %.1f MiB (weights %.1f MiB, KV %.1f KiB/token)\n",
                  kernels_name(), model->pool().size(), static_cast<double>(peak_rss_bytes()) / (1 << 20),
                  static_cast<double>(model->weight_bytes()) / (1 << 20),
                  static_cast<double>(model->kv_bytes_per_token()) / 1024);
  }
  if (o.output == "json") std::printf("%s\n", all.dump(2).c_str());
  return 0;
}

const bool registered = register_command({
    .name = "bench",
    .help = "prefill and decode speed, llama-bench style (pp512, tg128, tg128 @ d2048)",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<BenchCliOptions>();
      sub.add_option("-m,--model", o->model, "model file (GGUF)")->required();
      sub.add_option("-p,--n-prompt", o->n_prompt, "prompt lengths, comma-separated (0: no pp test)")
          ->delimiter(',')
          ->capture_default_str();
      sub.add_option("-n,--n-gen", o->n_gen, "generation lengths, comma-separated (0: no tg test)")
          ->delimiter(',')
          ->capture_default_str();
      sub.add_option("-d,--n-depth", o->n_depth, "tokens already in the cache, comma-separated")
          ->delimiter(',')
          ->capture_default_str();
      sub.add_option("-b,--batch", o->n_seq,
                     "sequences decoded together, comma-separated (batched-bench: pp/tg rates aggregate over them)")
          ->delimiter(',')
          ->capture_default_str();
      sub.add_option("-t,--threads", o->threads, "thread counts, comma-separated (0 = physical cores)")
          ->delimiter(',')
          ->capture_default_str();
      sub.add_option("-r,--repetitions", o->reps, "timed repetitions per test")->capture_default_str();
      sub.add_option("-o,--output", o->output, "output format: md, json (one array) or jsonl (one object per line)")->capture_default_str();
      sub.add_option("--seed", o->seed, "seed of the random token ids")->capture_default_str();
      return [o] { return run_bench_cmd(*o); };
    }});

}  // namespace
}  // namespace r1::cli
