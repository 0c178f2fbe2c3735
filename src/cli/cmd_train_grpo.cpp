// r1 train grpo: R1-style reinforcement learning with rule-based rewards.
#include <fmt/format.h>

#include <memory>
#include <sstream>

#include "base/error.hpp"
#include "cli/cmd_train.hpp"
#include "train/grpo.hpp"

namespace r1::cli {

namespace {

struct GrpoCli {
  train::GrpoOptions o;
  std::string rewards = "boxed-match,think-format:0.2", export_type = "f32";
  double max_minutes = 0;
};

int run_grpo_cli(GrpoCli& c) {
  c.o.rewards.clear();
  std::stringstream ss(c.rewards);
  for (std::string r; std::getline(ss, r, ',');)
    if (!r.empty()) c.o.rewards.push_back(r);
  c.o.resume = c.o.resume || c.o.resume_force;
  c.o.export_type = train::parse_export_type(c.export_type);
  c.o.max_seconds = c.max_minutes * 60.0;
  train::run_grpo(c.o, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
  return 0;
}

}  // namespace

Action setup_train_grpo(CLI::App& sub) {
  auto c = std::make_shared<GrpoCli>();
  train::GrpoOptions& o = c->o;
  o.sampling.temperature = 1.0f;
  o.sampling.top_p = 1.0f;
  o.opt.lr = 2e-5f;
  o.opt.warmup_steps = 5;
  o.opt.weight_decay = 0.0f;
  o.opt.min_lr_ratio = 1.0f;
  sub.add_option("--init", o.init, "starting policy and frozen reference (GGUF, e.g. the SFT model)")->required();
  sub.add_option("--prompts", o.prompts, "problems JSONL (the r1 eval format: question/answer, messages, countdown)")
      ->required();
  sub.add_option("-o,--out", o.out, "output model .gguf")->required();
  sub.add_option("--reward", c->rewards, "comma-separated name[:weight]: boxed-match, think-format")
      ->capture_default_str();
  sub.add_option("--group", o.group, "samples per prompt (G)")->capture_default_str();
  sub.add_option("--prompts-per-step", o.prompts_per_step, "prompts per step")->capture_default_str();
  sub.add_option("--steps", o.steps, "GRPO steps")->capture_default_str();
  sub.add_option("--epochs", o.epochs, "policy updates per batch of samples")->capture_default_str();
  sub.add_option("--clip", o.clip_eps, "ratio clipping epsilon")->capture_default_str();
  sub.add_option("--kl", o.kl_coef, "KL coefficient (beta)")->capture_default_str();
  sub.add_option("--temp", o.sampling.temperature, "sampling temperature")->capture_default_str();
  sub.add_option("--top-p", o.sampling.top_p, "nucleus sampling")->capture_default_str();
  sub.add_option("--max-tokens", o.max_tokens, "generated tokens per sample")->capture_default_str();
  sub.add_option("--batch", o.max_batch, "sequences decoded together")->capture_default_str();
  sub.add_option("--micro-tokens", o.micro_tokens, "tokens per forward/backward pass")->capture_default_str();
  sub.add_option("--prompt-suffix", o.prompt_suffix, "text appended to the last user message");
  sub.add_option("--lr", o.opt.lr, "learning rate")->capture_default_str();
  sub.add_option("--min-lr-ratio", o.opt.min_lr_ratio, "final learning rate / peak")->capture_default_str();
  sub.add_option("--warmup", o.opt.warmup_steps, "linear warm-up steps")->capture_default_str();
  sub.add_option("--weight-decay", o.opt.weight_decay)->capture_default_str();
  sub.add_option("--grad-clip", o.opt.grad_clip)->capture_default_str();
  sub.add_option("--seed", o.seed, "prompt order and sampling seed")->capture_default_str();
  sub.add_option("-t,--threads", o.threads, "threads (0 = physical cores)");
  sub.add_option("--log-every", o.log_every)->capture_default_str();
  sub.add_option("--save-every", o.save_every, "checkpoint every N steps")->capture_default_str();
  sub.add_option("--checkpoint", o.checkpoint, "checkpoint path (default: <out>.ckpt.gguf)");
  sub.add_flag("--resume", o.resume,
               "continue from the checkpoint if it exists (refused if its data, seed, model or schedule differ)");
  sub.add_flag("--resume-force", o.resume_force,
               "resume even if the data, seed, model or schedule differ from the checkpoint's (implies --resume)");
  sub.add_option("--export-type", c->export_type, "f32 | f16 | q8_0")->capture_default_str();
  sub.add_option("--max-minutes", c->max_minutes, "stop early (checkpoint and export) after this long");
  return [c] { return run_grpo_cli(*c); };
}

}  // namespace r1::cli
