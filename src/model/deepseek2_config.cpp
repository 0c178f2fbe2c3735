// deepseek2 hyper-parameters (DeepSeek-V2, V2-Lite, V3, R1) from and to the GGUF keys
// llama.cpp uses (src/models/deepseek2.cpp + llama-model.cpp load_hparams).
//
// Attention is Multi-head Latent Attention (MLA). In the layout current converters
// write ("split": attn_k_b / attn_v_b, keys attention.key_length_mla/value_length_mla)
// the GGUF describes the cache as one MQA head: key_length = kv_lora_rank + rope dims,
// value_length = kv_lora_rank, head_count_kv = 1. The older ("legacy") layout has no
// *_mla keys and describes plain multi-head attention: key_length = nope + rope dims,
// value_length = v_head, head_count_kv = head_count, with one attn_kv_b tensor per
// layer; r1 derives attn_k_b / attn_v_b from it at load (weights.hpp) and runs both
// layouts the same way, over the same latent-only cache (mla.legacy_kv_b).
//
// RoPE: normal (adjacent pairs) over the last `qk_rope` dims of each head, with YaRN
// when rope.scaling.type == "yarn". The derived numbers (rope attn_factor, kq_scale)
// are computed in float exactly as llama.cpp's llama_context / deepseek2 graph do.
// The writer does not store rope.scaling.attn_factor (1 unless a file says otherwise).
#include "model/config.hpp"
#include "model/registry/registry.hpp"

#include <cmath>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"

namespace r1 {

namespace {

constexpr int64_t kMaxDim = int64_t{1} << 20;

// A scalar integer key in [lo, hi]; per-layer arrays are not supported for this family.
int64_t int_key(const gguf::Metadata& md, const std::string& key, int64_t lo, int64_t hi, const int64_t* fallback) {
  const gguf::Value* v = md.find(key);
  if (!v) {
    if (!fallback) fail("missing metadata key '{}'", key);
    return *fallback;
  }
  if (v->type == gguf::ValueType::ARRAY) fail("metadata key '{}': per-layer arrays are not supported", key);
  const int64_t x = v->as_i64(key);
  if (x < lo || x > hi) fail("metadata key '{}' = {} is out of range [{}, {}]", key, x, lo, hi);
  return x;
}
int64_t required(const gguf::Metadata& md, const std::string& key, int64_t lo, int64_t hi) {
  return int_key(md, key, lo, hi, nullptr);
}
int64_t optional(const gguf::Metadata& md, const std::string& key, int64_t lo, int64_t hi, int64_t fallback) {
  return int_key(md, key, lo, hi, &fallback);
}

float finite_float(const gguf::Metadata& md, const std::string& key, double fallback) {
  const double v = md.get_float_or(key, fallback);
  if (!std::isfinite(v)) fail("metadata key '{}' is not finite", key);
  return static_cast<float>(v);
}

}  // namespace

Deepseek2Scales deepseek2_scales(float freq_scale, float ext_factor, float yarn_log_mul, float rope_attn_factor,
                                 int64_t head_k) {
  // llama_context: cparams.yarn_attn_factor (starts at hparams.yarn_attn_factor = 1).
  float attn_factor = 1.0f;
  if (ext_factor != 0.0f) {
    auto get_mscale = [](float scale, float mscale) {
      return scale <= 1.0f ? 1.0f : (0.1f * mscale * logf(scale) + 1.0f);
    };
    const float factor = 1.0f / freq_scale;
    if (yarn_log_mul != 0.0f) {
      float mscale = 1.0f;
      const float mscale_all_dims = yarn_log_mul;
      if (mscale_all_dims != 1.0f) mscale = mscale_all_dims;  // the deepseek2 special case
      attn_factor = get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dims);
    } else {
      attn_factor = get_mscale(factor, 1.0f);
    }
    // cancels the magnitude factor ggml's rope_yarn applies when ext_factor != 0
    attn_factor *= 1.0f / (1.0f + 0.1f * logf(factor));
  }
  attn_factor *= rope_attn_factor;

  // deepseek2 graph: recover the original factor and fold mscale^2 into the kq scale.
  const float attn_factor_org = attn_factor * (1.0f + 0.1f * logf(1.0f / freq_scale));
  const float mscale = attn_factor_org * (1.0f + 0.1f * yarn_log_mul * logf(1.0f / freq_scale));
  const float kq_scale = 1.0f * mscale * mscale / sqrtf(static_cast<float>(head_k));
  return {attn_factor, kq_scale};
}

void read_deepseek2_config(const gguf::Metadata& md, ModelConfig& c) {
  const std::string arch = md.get_string("general.architecture");
  if (arch != "deepseek2") fail("architecture '{}' is not deepseek2", arch);
  const std::string p = arch + ".";

  c.n_embd = required(md, p + "embedding_length", 1, kMaxDim);
  const int64_t n_blocks = required(md, p + "block_count", 1, 4096);
  c.n_nextn = optional(md, p + "nextn_predict_layers", 0, n_blocks - 1, 0);
  c.n_layer = n_blocks - c.n_nextn;
  c.n_ctx_train = required(md, p + "context_length", 1, int64_t{1} << 24);
  c.n_head = required(md, p + "attention.head_count", 1, 16384);
  c.rms_eps = static_cast<float>(md.get_float(p + "attention.layer_norm_rms_epsilon"));
  if (!(c.rms_eps > 0) || !std::isfinite(c.rms_eps)) fail("{}attention.layer_norm_rms_epsilon must be positive", p);

  // --- MLA shapes ---
  c.mla.q_lora_rank = optional(md, p + "attention.q_lora_rank", 0, kMaxDim, 0);
  c.mla.kv_lora_rank = required(md, p + "attention.kv_lora_rank", 1, kMaxDim);
  const bool has_k_mla = md.has(p + "attention.key_length_mla"), has_v_mla = md.has(p + "attention.value_length_mla");
  if (has_k_mla != has_v_mla)
    fail("{0}attention.key_length_mla and {0}attention.value_length_mla must be given together", p);
  const int64_t qk_rope = required(md, p + "rope.dimension_count", 2, 4096);
  if (qk_rope % 2 != 0) fail("{}rope.dimension_count {} must be even", p, qk_rope);
  const int64_t kv_row = c.mla.kv_lora_rank + qk_rope;
  c.mla.legacy_kv_b = !has_k_mla;
  int64_t head_k = 0;
  if (!c.mla.legacy_kv_b) {
    head_k = required(md, p + "attention.key_length_mla", 2, 4096);
    c.mla.v_head = required(md, p + "attention.value_length_mla", 1, 4096);
    if (head_k <= qk_rope)
      fail("{0}attention.key_length_mla ({1}) must exceed {0}rope.dimension_count ({2})", p, head_k, qk_rope);
    // The cache is described as one MQA head holding the latent plus the rope key part.
    const int64_t key_len = optional(md, p + "attention.key_length", 1, kMaxDim, kv_row);
    const int64_t val_len = optional(md, p + "attention.value_length", 1, kMaxDim, c.mla.kv_lora_rank);
    if (key_len != kv_row || val_len != c.mla.kv_lora_rank)
      fail("{0}attention.key_length/value_length ({1}/{2}) must be kv_lora_rank + rope dims / kv_lora_rank ({3}/{4}) "
           "in the MLA layout",
           p, key_len, val_len, kv_row, c.mla.kv_lora_rank);
    const int64_t n_head_kv = optional(md, p + "attention.head_count_kv", 1, 16384, 1);
    if (n_head_kv != 1)
      fail("{}attention.head_count_kv is {}; the MLA layout needs 1 (one latent per token)", p, n_head_kv);
  } else {
    // Legacy layout (no *_mla keys; one attn_kv_b per layer): the keys describe the
    // expanded multi-head attention, whose head sizes are the MLA ones.
    const std::string legacy = fmt::format("in the legacy MLA layout (no {}attention.key_length_mla; one {} tensor "
                                           "per layer)", p, tensor_suffix(TensorKind::attn_kv_b));
    if (!md.has(p + "attention.key_length") || !md.has(p + "attention.value_length"))
      fail("{0}attention.key_length and {0}attention.value_length (qk_nope + rope dims, v_head) are required {1}", p,
           legacy);
    head_k = required(md, p + "attention.key_length", 2, 4096);
    c.mla.v_head = required(md, p + "attention.value_length", 1, 4096);
    if (head_k <= qk_rope)
      fail("{0}attention.key_length ({1}) must exceed {0}rope.dimension_count ({2}) {3}", p, head_k, qk_rope, legacy);
    const int64_t n_head_kv = optional(md, p + "attention.head_count_kv", 1, 16384, c.n_head);
    if (n_head_kv != c.n_head)
      fail("{0}attention.head_count_kv is {1} but must equal {0}attention.head_count ({2}) {3}", p, n_head_kv,
           c.n_head, legacy);
  }
  c.mla.qk_nope = head_k - qk_rope;
  c.n_head_kv = 1;
  c.head_dim = head_k;
  if (md.get_float_or(p + "attention.temperature_scale", 0.0) != 0.0)
    fail("{}attention.temperature_scale (Llama-4 style attention temperature) is not supported", p);

  // --- feed-forward / MoE ---
  c.moe.n_dense_lead = optional(md, p + "leading_dense_block_count", 0, c.n_layer, 0);
  if (c.moe.n_dense_lead > 0) c.n_ff = required(md, p + "feed_forward_length", 1, kMaxDim);
  if (c.moe.n_dense_lead < c.n_layer) {
    c.moe.n_ff_exp = required(md, p + "expert_feed_forward_length", 1, kMaxDim);
    c.moe.n_expert = required(md, p + "expert_count", 1, 65536);
    c.moe.n_expert_used = required(md, p + "expert_used_count", 1, c.moe.n_expert);
    c.moe.n_expert_shared = required(md, p + "expert_shared_count", 0, 1024);
    c.moe.n_group = optional(md, p + "expert_group_count", 0, c.moe.n_expert, 0);
    c.moe.n_group_used = optional(md, p + "expert_group_used_count", 0, c.moe.n_expert, 0);
    if (c.moe.n_group > 1) {
      if (c.moe.n_expert % c.moe.n_group != 0)
        fail("{}expert_count {} is not a multiple of expert_group_count {}", p, c.moe.n_expert, c.moe.n_group);
      if (c.moe.n_expert / c.moe.n_group < 2) fail("{}expert groups must hold at least 2 experts each", p);
      if (c.moe.n_group_used < 1 || c.moe.n_group_used >= c.moe.n_group)
        fail("{}expert_group_used_count {} must be in [1, expert_group_count {})", p, c.moe.n_group_used, c.moe.n_group);
      if (c.moe.n_expert_used > c.moe.n_group_used * (c.moe.n_expert / c.moe.n_group))
        fail("{}expert_used_count {} exceeds the experts in the used groups ({})", p, c.moe.n_expert_used,
             c.moe.n_group_used * (c.moe.n_expert / c.moe.n_group));
    }
    c.moe.weights_scale = finite_float(md, p + "expert_weights_scale", 0.0);
    c.moe.weights_norm = md.get_bool_or(p + "expert_weights_norm", false);
    const int64_t gating = optional(md, p + "expert_gating_func", 0, 1 << 20, 0);
    if (gating == 0 || gating == 1) c.moe.gating = MoeGating::softmax;  // 0: older V2 files (llama.cpp default)
    else if (gating == 2) c.moe.gating = MoeGating::sigmoid;
    else fail("{}expert_gating_func {} is not supported (1 = softmax, 2 = sigmoid)", p, gating);
  }

  // --- RoPE / YaRN ---
  c.rope.style = RopeStyle::normal;
  c.rope.n_dims = qk_rope;
  c.rope.freq_base = finite_float(md, p + "rope.freq_base", 10000.0);
  if (!(c.rope.freq_base > 0)) fail("{}rope.freq_base must be positive", p);
  c.rope_scaling = md.get_string_or(p + "rope.scaling.type", "linear");
  float factor = 0.0f;
  if (md.has(p + "rope.scaling.factor")) factor = finite_float(md, p + "rope.scaling.factor", 0.0);
  else if (md.has(p + "rope.scale_linear")) factor = finite_float(md, p + "rope.scale_linear", 0.0);
  if (factor < 0) fail("{}rope.scaling.factor must not be negative", p);
  c.rope_scaling_factor = factor;
  c.rope.freq_scale = factor == 0.0f ? 1.0f : 1.0f / factor;
  if (c.rope_scaling == "none") {
    c.rope.freq_scale = 1.0f;
  } else if (c.rope_scaling == "yarn") {
    c.rope.ext_factor = 1.0f;
  } else if (c.rope_scaling != "linear") {
    fail("{}rope.scaling.type '{}' is not supported (none, linear, yarn)", p, c.rope_scaling);
  }
  c.rope.n_ctx_orig = optional(md, p + "rope.scaling.original_context_length", 1, int64_t{1} << 24, c.n_ctx_train);
  const float rope_attn_factor = finite_float(md, p + "rope.scaling.attn_factor", 1.0);
  if (md.has(p + "rope.scaling.yarn_log_multiplier"))
    c.yarn_log_mul = finite_float(md, p + "rope.scaling.yarn_log_multiplier", 0.0) / 0.1f;  // converter wrote 0.1 * m
  const Deepseek2Scales s = deepseek2_scales(c.rope.freq_scale, c.rope.ext_factor, c.yarn_log_mul, rope_attn_factor,
                                             c.head_dim);
  c.rope.attn_factor = s.rope_attn_factor;
  c.mla.kq_scale = s.kq_scale;
  if (!std::isfinite(c.mla.kq_scale) || !std::isfinite(c.rope.attn_factor))
    fail("{}rope scaling parameters give a non-finite attention scale", p);
}


void write_deepseek2_metadata(gguf::Writer& w, const ModelConfig& c) {
  using gguf::Value;
  const std::string a = "deepseek2.";
  auto u32 = [](int64_t v) { return Value::from_u32(static_cast<uint32_t>(v)); };
  const int64_t R = c.mla.kv_lora_rank, P = c.qk_rope();
  if (c.n_vocab > 0) w.set(a + "vocab_size", u32(c.n_vocab));
  w.set(a + "context_length", u32(c.n_ctx_train));
  w.set(a + "embedding_length", u32(c.n_embd));
  w.set(a + "block_count", u32(c.n_layer + c.n_nextn));
  if (c.moe.n_dense_lead > 0) w.set(a + "feed_forward_length", u32(c.n_ff));
  w.set(a + "attention.head_count", u32(c.n_head));
  w.set(a + "attention.head_count_kv", u32(c.mla.legacy_kv_b ? c.n_head : 1));
  w.set(a + "rope.freq_base", Value::from_f32(c.rope.freq_base));
  w.set(a + "attention.layer_norm_rms_epsilon", Value::from_f32(c.rms_eps));
  w.set(a + "leading_dense_block_count", u32(c.moe.n_dense_lead));
  w.set(a + "attention.q_lora_rank", u32(c.mla.q_lora_rank));
  w.set(a + "attention.kv_lora_rank", u32(R));
  if (c.mla.legacy_kv_b) {  // the expanded multi-head shapes, no *_mla keys (older converters)
    w.set(a + "attention.key_length", u32(c.head_dim));
    w.set(a + "attention.value_length", u32(c.mla.v_head));
  } else {
    w.set(a + "attention.key_length", u32(R + P));
    w.set(a + "attention.value_length", u32(R));
    w.set(a + "attention.key_length_mla", u32(c.head_dim));
    w.set(a + "attention.value_length_mla", u32(c.mla.v_head));
  }
  if (c.moe.n_dense_lead < c.n_layer + c.n_nextn) {
    w.set(a + "expert_feed_forward_length", u32(c.moe.n_ff_exp));
    w.set(a + "expert_count", u32(c.moe.n_expert));
    w.set(a + "expert_used_count", u32(c.moe.n_expert_used));
    w.set(a + "expert_shared_count", u32(c.moe.n_expert_shared));
    w.set(a + "expert_weights_scale", Value::from_f32(c.moe.weights_scale));
    if (c.moe.weights_norm) w.set(a + "expert_weights_norm", Value::from_bool(true));
    w.set(a + "expert_gating_func", u32(c.moe.gating == MoeGating::sigmoid ? 2 : 1));
    if (c.moe.n_group > 1) {
      w.set(a + "expert_group_count", u32(c.moe.n_group));
      w.set(a + "expert_group_used_count", u32(c.moe.n_group_used));
    }
  }
  w.set(a + "rope.dimension_count", u32(P));
  if ((c.rope_scaling == "yarn" || c.rope_scaling == "linear") && c.rope_scaling_factor > 0) {
    w.set(a + "rope.scaling.type", Value::from_string(c.rope_scaling));
    w.set(a + "rope.scaling.factor", Value::from_f32(c.rope_scaling_factor));
    if (c.rope_scaling == "yarn") w.set(a + "rope.scaling.original_context_length", u32(c.rope.n_ctx_orig));
    if (c.yarn_log_mul != 0) w.set(a + "rope.scaling.yarn_log_multiplier", Value::from_f32(c.yarn_log_mul * 0.1f));
  } else {
    w.set(a + "rope.scaling.type", Value::from_string("none"));
  }
  if (c.n_nextn > 0) w.set(a + "nextn_predict_layers", u32(c.n_nextn));
}

}  // namespace r1
