// r1 train sft: supervised fine-tuning on OpenAI-messages JSONL traces.
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "base/error.hpp"
#include "cli/cmd_train.hpp"
#include "train/sft.hpp"

namespace r1::cli {

namespace {

struct SftCli {
  train::SftOptions o;
  std::string arch = "qwen2", dims, template_file, export_type = "f32", name;
  double max_minutes = 0;
};

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot read '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int run_sft_cli(SftCli& c) {
  train::SftOptions& o = c.o;
  o.resume = o.resume || o.resume_force;
  o.model_given = !o.init.init_path.empty() || !c.dims.empty();
  if (o.init.init_path.empty() && c.dims.empty() && !o.resume)
    fail("train sft: give --init MODEL.gguf, or --arch and --dims for a new model");
  if (!o.init.init_path.empty() && !c.dims.empty()) fail("train sft: --init and --dims exclude each other");
  if (!parse_arch(c.arch, &o.init.cfg.arch) || o.init.cfg.arch == Arch::deepseek2)
    fail("train sft: --arch must be qwen2, qwen3 or llama");
  // Defaults for a new model, overridden by --dims.
  ModelConfig& cfg = o.init.cfg;
  cfg.n_embd = 256, cfg.n_layer = 4, cfg.n_head = 4, cfg.n_head_kv = 2, cfg.n_ff = 768, cfg.n_ctx_train = 512;
  cfg.rms_eps = 1e-6f, cfg.rope.freq_base = 10000.0f, cfg.head_dim = 0;
  if (!c.dims.empty()) train::parse_dims(c.dims, &cfg);
  cfg.name = c.name;
  if (!c.template_file.empty()) o.init.chat_template = read_text(c.template_file);
  o.export_type = train::parse_export_type(c.export_type);
  o.max_seconds = c.max_minutes * 60.0;
  train::run_sft(o, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
  return 0;
}

}  // namespace

Action setup_train_sft(CLI::App& sub) {
  auto c = std::make_shared<SftCli>();
  train::SftOptions& o = c->o;
  sub.add_option("--data", o.data, "training conversations (OpenAI messages JSONL)")->required();
  sub.add_option("--val-data", o.val_data, "validation JSONL (default: hold out part of --data)");
  sub.add_option("-o,--out", o.out, "output model .gguf")->required();
  sub.add_option("--init", o.init.init_path, "GGUF model to fine-tune (qwen2, qwen3 or llama)");
  sub.add_option("--arch", c->arch, "new model: qwen2 | qwen3 | llama")->capture_default_str();
  sub.add_option("--dims", c->dims,
                 "new model: embd=256,layers=4,heads=4,kv-heads=2,ff=768,ctx=512[,head-dim=,tied=1,rope-theta=]");
  sub.add_option("--tokenizer", o.init.tokenizer_path, "new model: vocabulary .gguf or tokenizer .json (default: built-in)");
  sub.add_option("--chat-template", c->template_file, "Jinja chat template to render with and store in the model");
  sub.add_option("--name", c->name, "general.name of a new model");
  sub.add_option("--steps", o.steps, "optimizer steps")->capture_default_str();
  sub.add_option("--batch-tokens", o.batch_tokens, "tokens per optimizer step")->capture_default_str();
  sub.add_option("--micro-tokens", o.micro_tokens, "tokens per forward/backward pass")->capture_default_str();
  sub.add_option("--lr", o.opt.lr, "peak learning rate")->capture_default_str();
  sub.add_option("--min-lr-ratio", o.opt.min_lr_ratio, "final learning rate / peak")->capture_default_str();
  sub.add_option("--warmup", o.opt.warmup_steps, "linear warm-up steps")->capture_default_str();
  sub.add_option("--weight-decay", o.opt.weight_decay, "AdamW weight decay (matrices)")->capture_default_str();
  sub.add_option("--beta1", o.opt.beta1)->capture_default_str();
  sub.add_option("--beta2", o.opt.beta2)->capture_default_str();
  sub.add_option("--grad-clip", o.opt.grad_clip, "max global gradient norm (0 = off)")->capture_default_str();
  sub.add_option("--seed", o.seed, "data order seed")->capture_default_str();
  sub.add_option("--init-seed", o.init.seed, "new model: weight initialisation seed")->capture_default_str();
  sub.add_option("-t,--threads", o.threads, "threads (0 = physical cores)");
  sub.add_option("--log-every", o.log_every)->capture_default_str();
  sub.add_option("--eval-every", o.eval_every, "validation loss every N steps")->capture_default_str();
  sub.add_option("--save-every", o.save_every, "checkpoint every N steps")->capture_default_str();
  sub.add_option("--checkpoint", o.checkpoint, "checkpoint path (default: <out>.ckpt.gguf)");
  sub.add_flag("--resume", o.resume,
               "continue from the checkpoint if it exists (refused if its data, seed, model or schedule differ)");
  sub.add_flag("--resume-force", o.resume_force,
               "resume even if the data, seed, model or schedule differ from the checkpoint's (implies --resume)");
  sub.add_option("--export-type", c->export_type, "f32 | f16 | q8_0")->capture_default_str();
  sub.add_option("--max-minutes", c->max_minutes, "stop early (checkpoint and export) after this long");
  return [c] { return run_sft_cli(*c); };
}

}  // namespace r1::cli
