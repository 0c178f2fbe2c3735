// Hyper-parameters of the deepseek2 family (DeepSeek-V2, V2-Lite, V3, R1), read from
// the GGUF keys llama.cpp uses (src/models/deepseek2.cpp + llama-model.cpp load_hparams).
//
// Attention is Multi-head Latent Attention (MLA). In the layout current converters
// write ("split": attn_k_b / attn_v_b, keys attention.key_length_mla/value_length_mla)
// the GGUF describes the cache as one MQA head: key_length = kv_lora_rank + rope dims,
// value_length = kv_lora_rank, head_count_kv = 1. The older layout (one attn_kv_b
// tensor, key_length = nope + rope dims) is detected and rejected with a message.
//
// RoPE: normal (adjacent pairs) over the last `qk_rope` dims of each head, with YaRN
// when rope.scaling.type == "yarn". The derived numbers (rope attn_factor, kq_scale)
// are computed in float exactly as llama.cpp's llama_context / deepseek2 graph do.
#pragma once
#include <cstdint>
#include <string>

#include "model/config.hpp"

namespace r1 {

namespace gguf {
class Metadata;
}

enum class MoeGating { softmax, sigmoid };

// RoPE parameters as ggml's rope op receives them (ggml_rope_ext arguments).
struct YarnParams {
  int64_t n_dims = 0;        // rotated dims (rope.dimension_count)
  int64_t n_ctx_orig = 0;    // rope.scaling.original_context_length (default: context_length)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;   // 1 / rope.scaling.factor
  float ext_factor = 0.0f;   // 1 for YaRN, else 0
  float attn_factor = 1.0f;  // magnitude factor passed to rope (llama.cpp cparams.yarn_attn_factor)
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
};

struct DeepSeek2Config {
  std::string name;           // general.name
  int64_t n_vocab = 0;        // rows of token_embd (set when weights are bound)
  int64_t n_embd = 0;
  int64_t n_layer = 0;        // decoder layers run by the forward pass (block_count - nextn)
  int64_t n_nextn = 0;        // trailing multi-token-prediction layers in the file (skipped)
  int64_t n_ctx_train = 0;
  int64_t n_head = 0;
  int64_t q_lora_rank = 0;    // 0: plain attn_q (V2-Lite); else attn_q_a / q_a_norm / attn_q_b
  int64_t kv_lora_rank = 0;   // latent size cached per token
  int64_t qk_nope = 0;        // per-head query/key dims without RoPE
  int64_t qk_rope = 0;        // per-head query/key dims with RoPE (shared key part)
  int64_t v_head = 0;         // per-head value dims
  int64_t n_ff = 0;           // feed_forward_length: leading dense blocks
  int64_t n_ff_exp = 0;       // expert_feed_forward_length: one expert (routed or shared)
  int64_t n_dense_lead = 0;   // leading_dense_block_count
  int64_t n_expert = 0;       // routed experts
  int64_t n_expert_used = 0;  // routed experts per token
  int64_t n_expert_shared = 0;
  int64_t n_group = 0;        // expert_group_count (<= 1: no group limit)
  int64_t n_group_used = 0;   // expert_group_used_count
  float expert_weights_scale = 0.0f;  // applied when not 0 and not 1 (as llama.cpp)
  bool expert_weights_norm = false;
  MoeGating gating = MoeGating::softmax;
  float rms_eps = 1e-6f;
  std::string rope_scaling = "linear";  // none | linear | yarn
  float yarn_log_mul = 0.0f;  // llama.cpp hparams.rope_yarn_log_mul (GGUF value / 0.1)
  YarnParams rope;
  float kq_scale = 0.0f;      // mscale^2 / sqrt(qk_nope + qk_rope)

  int64_t head_k() const { return qk_nope + qk_rope; }
  int64_t kv_row() const { return kv_lora_rank + qk_rope; }  // cached halves per token and layer
  bool is_moe_layer(int64_t il) const { return il >= n_dense_lead; }
  // Bytes of one token's cache over all layers: n_layer * (kv_lora_rank + qk_rope) * 2 (F16).
  uint64_t kv_bytes_per_token() const;

  // The architecture-neutral view (common fields only; head_dim = qk_nope + qk_rope,
  // n_head_kv = 1, n_ff = n_ff or n_ff_exp).
  ModelConfig to_model_config() const;

  // Throws r1::Error naming the key for a missing, invalid or unsupported value.
  static DeepSeek2Config from_gguf(const gguf::Metadata& md);
};

// The rope attn_factor llama.cpp's context passes to every rope op, and the
// attention scale its deepseek2 graph uses, from the scaling hyper-parameters (float
// arithmetic in llama.cpp's order). freq_scale = 1/factor; ext_factor 1 for YaRN.
struct Deepseek2Scales {
  float rope_attn_factor;
  float kq_scale;
};
Deepseek2Scales deepseek2_scales(float freq_scale, float ext_factor, float yarn_log_mul, float rope_attn_factor,
                                 int64_t head_k);

}  // namespace r1
