// r1 gen-model: write a random-weight GGUF (dense families or deepseek2), toy or real shape.
#include <fstream>
#include <memory>
#include <sstream>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "model/generator.hpp"

namespace r1::cli {
namespace {

struct GenOptions {
  std::string out, arch = "qwen2", preset = "tiny", dtype = "f32", tokenizer, template_file;
  uint64_t seed = 1;
  int64_t vocab = -1, embd = -1, layers = -1, heads = -1, heads_kv = -1, head_dim = -1, ff = -1, ctx = -1;
  int64_t experts = -1, experts_used = -1, expert_ff = -1, nextn = -1;  // deepseek2 only
  std::vector<std::string> tensor_types;  // PATTERN=TYPE
  bool metadata_only = false;
  bool legacy_mla = false;  // deepseek2 only
  std::string derived_split;
  float logit_std = 4.0f;
  bool tied = false;
  int threads = 0;
};

// --arch deepseek2: MLA + DeepSeekMoE presets (tiny-v3, tiny-v2lite, deepseek-v2-lite, r1-shaped).
std::string read_template(const std::string& file) {
  if (file.empty()) return "";
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("cannot read --chat-template '{}'", file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int run_gen_deepseek2(const GenOptions& o) {
  if (o.heads_kv >= 0 || o.head_dim >= 0) fail("--heads-kv/--head-dim do not apply to deepseek2 (MLA shapes)");
  GenDeepseek2Spec s = gen_deepseek2_preset(o.preset == "tiny" ? "tiny-v3" : o.preset);
  if (!parse_file_type(o.dtype, &s.mix)) fail("unknown --dtype '{}' ({})", o.dtype, file_type_names());
  for (const std::string& t : o.tensor_types) s.tensor_types.push_back(parse_type_override(t));
  auto set = [](int64_t v, int64_t& dst) {
    if (v >= 0) dst = v;
  };
  set(o.vocab, s.n_vocab);
  set(o.embd, s.n_embd);
  set(o.layers, s.n_layer);
  set(o.heads, s.n_head);
  set(o.ff, s.n_ff);
  set(o.ctx, s.n_ctx);
  set(o.experts, s.n_expert);
  set(o.experts_used, s.n_expert_used);
  set(o.expert_ff, s.n_ff_exp);
  set(o.nextn, s.n_nextn);
  if (s.n_dense_lead > s.n_layer) s.n_dense_lead = s.n_layer;
  if (o.experts >= 0 && s.n_group > 1 && (s.n_expert % s.n_group != 0 || s.n_expert / s.n_group < 2)) {
    s.n_group = 0;  // the preset's group limit does not fit the new expert count
    s.n_group_used = 0;
  }
  s.seed = o.seed;
  s.tied_output = o.tied;
  s.logit_std = o.logit_std;
  s.tokenizer_json = o.tokenizer;
  s.chat_template = read_template(o.template_file);
  s.metadata_only = o.metadata_only;
  s.legacy_mla = o.legacy_mla;
  if (!o.derived_split.empty() && !o.legacy_mla) fail("--derived-split needs --legacy-mla");
  s.derived_split = o.derived_split;
  write_random_deepseek2(s, o.out, o.threads);
  return 0;
}

int run_gen_model(const GenOptions& o) {
  if (o.arch == "deepseek2") return run_gen_deepseek2(o);
  if (o.experts >= 0 || o.experts_used >= 0 || o.expert_ff >= 0 || o.nextn >= 0 || o.metadata_only || o.legacy_mla)
    fail("--experts/--experts-used/--expert-ff/--nextn/--metadata-only/--legacy-mla apply to --arch deepseek2 only");
  Arch arch;
  if (o.arch == "llama") arch = Arch::llama;
  else if (o.arch == "qwen2") arch = Arch::qwen2;
  else if (o.arch == "qwen3") arch = Arch::qwen3;
  else fail("unknown --arch '{}' (llama, qwen2, qwen3, deepseek2)", o.arch);
  GenModelSpec s = gen_model_preset(o.preset, arch);
  if (o.preset != "tiny" && s.arch != arch && o.arch != "qwen2")
    fail("preset '{}' is a {} model; --arch {} does not apply", o.preset, arch_name(s.arch), o.arch);
  if (!parse_file_type(o.dtype, &s.mix)) fail("unknown --dtype '{}' ({})", o.dtype, file_type_names());
  for (const std::string& t : o.tensor_types) s.tensor_types.push_back(parse_type_override(t));
  auto set = [](int64_t v, int64_t& dst) {
    if (v >= 0) dst = v;
  };
  set(o.vocab, s.n_vocab);
  set(o.embd, s.n_embd);
  set(o.layers, s.n_layer);
  set(o.heads, s.n_head);
  set(o.heads_kv, s.n_head_kv);
  set(o.head_dim, s.head_dim);
  set(o.ff, s.n_ff);
  set(o.ctx, s.n_ctx);
  s.seed = o.seed;
  s.tied_output = o.tied;
  s.logit_std = o.logit_std;
  s.tokenizer_json = o.tokenizer;
  s.chat_template = read_template(o.template_file);
  write_random_model(s, o.out, o.threads);
  return 0;
}

const bool registered = register_command({
    .name = "gen-model",
    .help = "write a random-weight GGUF model (toy or real shapes) for tests and benchmarks",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<GenOptions>();
      sub.add_option("-o,--out", o->out, "output .gguf path (written atomically)")->required();
      sub.add_option("--arch", o->arch, "llama | qwen2 | qwen3 | deepseek2")->capture_default_str();
      sub.add_option("--preset", o->preset,
                     "tiny | r1-distill-qwen-1.5b | r1-distill-qwen-7b | r1-distill-llama-8b; deepseek2: tiny-v3 "
                     "(= tiny) | tiny-v2lite | deepseek-v2-lite | r1-shaped")
          ->capture_default_str();
      sub.add_option("--dtype", o->dtype,
                     "f32 | f16 | bf16 | q8_0 | q4_0 | q4_k_m | iq1_s | iq1_m | iq2_xxs | iq2_xs | iq2_s | iq3_xxs | "
                     "iq3_s | iq4_nl | iq4_xs (i-quants: random codebook blocks)")
          ->capture_default_str();
      sub.add_option("--tensor-type", o->tensor_types,
                     "PATTERN=TYPE: tensors whose name matches the regex get TYPE (repeatable; first match wins), "
                     "e.g. ffn_.*_exps=iq1_s");
      sub.add_option("--seed", o->seed, "random seed")->capture_default_str();
      sub.add_option("--tokenizer", o->tokenizer, "tokenizer.json to embed (default: built-in byte-level vocab)");
      sub.add_option("--chat-template", o->template_file, "Jinja chat template file to embed");
      sub.add_option("--vocab", o->vocab, "embedding rows (pads the vocabulary with unused tokens)");
      sub.add_option("--embd", o->embd, "hidden size");
      sub.add_option("--layers", o->layers, "number of layers");
      sub.add_option("--heads", o->heads, "attention heads");
      sub.add_option("--heads-kv", o->heads_kv, "key/value heads");
      sub.add_option("--head-dim", o->head_dim, "head size");
      sub.add_option("--ff", o->ff, "feed-forward size");
      sub.add_option("--ctx", o->ctx, "training context length");
      sub.add_option("--logit-std", o->logit_std, "target standard deviation of the logits")->capture_default_str();
      sub.add_flag("--tied", o->tied, "no output matrix: the embedding is reused (tied)");
      sub.add_option("--experts", o->experts, "deepseek2: routed experts");
      sub.add_option("--experts-used", o->experts_used, "deepseek2: routed experts per token");
      sub.add_option("--expert-ff", o->expert_ff, "deepseek2: feed-forward size of one expert");
      sub.add_option("--nextn", o->nextn, "deepseek2: multi-token-prediction layers appended to the file");
      sub.add_flag("--metadata-only", o->metadata_only,
                   "deepseek2: write the metadata only, no tensors (r1 inspect of full-size shapes)");
      sub.add_flag("--legacy-mla", o->legacy_mla,
                   "deepseek2: the legacy MLA layout of older converters (one combined K/V expansion tensor per layer, "
                   "no *_mla keys), with the same weights as the split layout written without it");
      sub.add_option("--derived-split", o->derived_split,
                     "deepseek2 with --legacy-mla: also write this split-layout file holding the K and V expansion "
                     "tensors r1 derives from the legacy file at load (for differential tests against llama.cpp)");
      sub.add_option("-t,--threads", o->threads, "threads (0 = physical cores)");
      return [o] { return run_gen_model(*o); };
    }});

}  // namespace
}  // namespace r1::cli
