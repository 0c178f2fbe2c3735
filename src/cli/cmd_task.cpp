// r1 task: write problems of the synthetic reasoning task (with the teacher's
// step-by-step traces) as OpenAI-messages JSONL, for `r1 train sft`, `r1 train
// grpo` and `r1 eval`.
#include <cstdio>
#include <fmt/format.h>
#include <memory>
#include <sstream>

#include "base/atomic_file.hpp"
#include "base/error.hpp"
#include "cli/command.hpp"
#include "train/task.hpp"

namespace r1::cli {
namespace {

struct TaskCliOptions {
  std::string kinds = "add,mul,countdown", split = "train", out;
  int64_t n = 1000;
  uint64_t seed = 1;
  bool think_in_content = false;
};

int run_task(const TaskCliOptions& o) {
  train::TaskOptions t;
  t.kinds.clear();
  std::stringstream ss(o.kinds);
  for (std::string k; std::getline(ss, k, ',');)
    if (!k.empty()) t.kinds.push_back(k);
  t.split = o.split;
  t.n = o.n;
  t.seed = o.seed;
  const std::vector<train::TaskProblem> probs = train::generate_tasks(t);
  std::string text;
  for (const auto& p : probs) text += train::task_to_json(p, o.think_in_content).dump() + "\n";
  if (o.out.empty() || o.out == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  write_file_atomic(o.out, text);
  fmt::print(stderr, "r1: {} {} problems ({}) -> {}\n", probs.size(), o.split, o.kinds, o.out);
  return 0;
}

const bool registered = register_command({
    .name = "task",
    .help = "write synthetic reasoning problems with teacher traces (arithmetic, countdown) as JSONL",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<TaskCliOptions>();
      sub.add_option("--kinds", o->kinds, "comma-separated: add, mul, countdown")->capture_default_str();
      sub.add_option("--split", o->split, "train | id | ood (harder) | grpo (both)")->capture_default_str();
      sub.add_option("-n,--n", o->n, "number of problems")->capture_default_str();
      sub.add_option("--seed", o->seed, "random seed")->capture_default_str();
      sub.add_option("-o,--out", o->out, "output .jsonl (default: stdout)");
      sub.add_flag("--think-in-content", o->think_in_content,
                   "put the trace in the content inside <think> instead of reasoning_content");
      return [o] { return run_task(*o); };
    }});

}  // namespace
}  // namespace r1::cli
