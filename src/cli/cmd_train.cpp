// r1 train sft | grpo: the R1 recipe at small scale (see docs/training.md).
#include <memory>

#include "cli/cmd_train.hpp"

namespace r1::cli {
namespace {

const bool registered = register_command({
    .name = "train",
    .help = "train a model: sft (distillation from reasoning traces) or grpo (RL with rule-based rewards)",
    .setup = [](CLI::App& sub) -> Action {
      sub.require_subcommand(1);
      auto sft = std::make_shared<Action>(setup_train_sft(
          *sub.add_subcommand("sft", "supervised fine-tuning on OpenAI-messages JSONL traces")));
      auto grpo = std::make_shared<Action>(setup_train_grpo(
          *sub.add_subcommand("grpo", "GRPO: group sampling, verifier rewards, clipped ratio, KL to a reference")));
      CLI::App* app = &sub;
      return [app, sft, grpo]() -> int {
        if (app->get_subcommand("sft")->parsed()) return (*sft)();
        return (*grpo)();
      };
    }});

}  // namespace
}  // namespace r1::cli
