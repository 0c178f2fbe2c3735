// Random-weight deepseek2 GGUF models (DeepSeek-V2-Lite / V3 / R1 shapes, or toy sizes)
// with the metadata keys and tensor names llama.cpp reads (src/models/deepseek2.cpp,
// conversion/deepseek.py), in the split MLA layout. Tensors come from the registry.
#include <fmt/format.h>

#include "base/error.hpp"
#include "model/generator.hpp"

namespace r1 {

namespace {

void validate(const GenDeepseek2Spec& s) {
  auto pos = [](int64_t v) { return v >= 1; };
  if (!pos(s.n_embd) || !pos(s.n_layer) || s.n_nextn < 0 || !pos(s.n_head) || s.q_lora_rank < 0 ||
      !pos(s.kv_lora_rank) || !pos(s.qk_nope) || !pos(s.qk_rope) || s.qk_rope % 2 != 0 || !pos(s.v_head) ||
      !pos(s.n_ctx) || s.n_dense_lead < 0 || s.n_dense_lead > s.n_layer)
    fail("gen-model: invalid deepseek2 dimensions (positive sizes, even rope dims, dense lead <= layers)");
  if (s.n_dense_lead > 0 && !pos(s.n_ff)) fail("gen-model: --ff must be positive with leading dense blocks");
  if (s.n_dense_lead < s.n_layer + s.n_nextn) {
    if (!pos(s.n_ff_exp) || !pos(s.n_expert) || !pos(s.n_expert_used) || s.n_expert_used > s.n_expert ||
        s.n_expert_shared < 0)
      fail("gen-model: invalid expert counts (need experts >= used >= 1, expert ff > 0)");
    if (s.n_group > 1 && (s.n_expert % s.n_group != 0 || s.n_expert / s.n_group < 2 || s.n_group_used < 1 ||
                          s.n_group_used >= s.n_group ||
                          s.n_expert_used > s.n_group_used * (s.n_expert / s.n_group)))
      fail("gen-model: invalid expert groups ({} experts, {} groups, {} used groups, {} used experts)", s.n_expert,
           s.n_group, s.n_group_used, s.n_expert_used);
  }
  if (s.yarn_factor < 0 || (s.yarn_factor > 0 && !pos(s.yarn_orig_ctx))) fail("gen-model: invalid YaRN parameters");
}

}  // namespace

std::vector<std::string> gen_deepseek2_preset_names() {
  return {"tiny-v3", "tiny-v2lite", "deepseek-v2-lite", "r1-shaped"};
}

GenDeepseek2Spec gen_deepseek2_preset(const std::string& preset) {
  GenDeepseek2Spec s;  // the defaults are tiny-v3 with its MTP layer
  if (preset == "tiny-v3") {
    s.n_nextn = 1;
  } else if (preset == "tiny-v2lite") {
    s.n_layer = 3, s.q_lora_rank = 0, s.qk_nope = 48, s.qk_rope = 32, s.v_head = 64, s.n_ff_exp = 128;
    s.n_expert = 8, s.n_expert_used = 2, s.n_expert_shared = 2, s.n_group = 0, s.n_group_used = 0;
    s.expert_weights_scale = 1.0f, s.expert_weights_norm = false, s.sigmoid_gating = false, s.probs_bias = false;
    s.yarn_factor = 8.0f, s.yarn_orig_ctx = 128, s.yarn_log_mul = 0.0707f;
  } else if (preset == "deepseek-v2-lite") {
    s.n_vocab = 102400, s.n_embd = 2048, s.n_layer = 27, s.n_head = 16, s.q_lora_rank = 0, s.kv_lora_rank = 512;
    s.qk_nope = 128, s.qk_rope = 64, s.v_head = 128, s.n_ff = 10944, s.n_ff_exp = 1408, s.n_dense_lead = 1;
    s.n_expert = 64, s.n_expert_used = 6, s.n_expert_shared = 2, s.n_group = 0, s.n_group_used = 0;
    s.expert_weights_scale = 1.0f, s.expert_weights_norm = false, s.sigmoid_gating = false, s.probs_bias = false;
    s.n_ctx = 163840, s.yarn_factor = 40.0f, s.yarn_orig_ctx = 4096, s.yarn_log_mul = 0.0707f;
  } else if (preset == "r1-shaped") {
    s.n_vocab = 129280, s.n_embd = 7168, s.n_layer = 5, s.n_head = 128, s.q_lora_rank = 1536, s.kv_lora_rank = 512;
    s.qk_nope = 128, s.qk_rope = 64, s.v_head = 128, s.n_ff = 18432, s.n_ff_exp = 2048, s.n_dense_lead = 3;
    s.n_expert = 32, s.n_expert_used = 8, s.n_expert_shared = 1, s.n_group = 8, s.n_group_used = 4;
    s.expert_weights_scale = 2.5f, s.expert_weights_norm = true, s.sigmoid_gating = true, s.probs_bias = true;
    s.n_ctx = 163840, s.yarn_factor = 40.0f, s.yarn_orig_ctx = 4096, s.yarn_log_mul = 0.1f;
  } else {
    fail("unknown deepseek2 preset '{}' (known: {})", preset, fmt::join(gen_deepseek2_preset_names(), ", "));
  }
  s.name = preset + "-random";
  return s;
}

ModelConfig deepseek2_config_of(const GenDeepseek2Spec& s) {
  validate(s);
  ModelConfig c;
  c.arch = Arch::deepseek2;
  c.name = s.name;
  c.n_vocab = s.n_vocab;
  c.n_embd = s.n_embd;
  c.n_layer = s.n_layer;
  c.n_nextn = s.n_nextn;
  c.n_head = s.n_head;
  c.n_head_kv = 1;
  c.head_dim = s.qk_nope + s.qk_rope;
  c.n_ff = s.n_ff;
  c.n_ctx_train = s.n_ctx;
  c.rms_eps = s.rms_eps;
  c.tied_output = s.tied_output;
  c.mla = {.q_lora_rank = s.q_lora_rank, .kv_lora_rank = s.kv_lora_rank, .qk_nope = s.qk_nope, .v_head = s.v_head,
           .kq_scale = 0.0f};
  c.moe = {.n_dense_lead = s.n_dense_lead, .n_ff_exp = s.n_ff_exp, .n_expert = s.n_expert,
           .n_expert_used = s.n_expert_used, .n_expert_shared = s.n_expert_shared, .n_group = s.n_group,
           .n_group_used = s.n_group_used, .weights_scale = s.expert_weights_scale,
           .weights_norm = s.expert_weights_norm, .gating = s.sigmoid_gating ? MoeGating::sigmoid : MoeGating::softmax};
  c.rope.style = RopeStyle::normal;
  c.rope.n_dims = s.qk_rope;
  c.rope.freq_base = s.rope_theta;
  if (s.yarn_factor > 0) {
    c.rope_scaling = "yarn";
    c.rope_scaling_factor = s.yarn_factor;
    c.rope.n_ctx_orig = s.yarn_orig_ctx;
    c.yarn_log_mul = s.yarn_log_mul / 0.1f;
  }
  return c;
}

void write_random_deepseek2(const GenDeepseek2Spec& spec, const std::string& path, int n_threads) {
  TensorChoices ch;
  ch.exp_probs_b = spec.probs_bias;
  write_random_weights(deepseek2_config_of(spec), ch,
                       {.mix = spec.mix, .seed = spec.seed, .logit_std = spec.logit_std,
                        .tokenizer_json = spec.tokenizer_json, .chat_template = spec.chat_template,
                        .metadata_only = spec.metadata_only},
                       path, n_threads);
}

}  // namespace r1
