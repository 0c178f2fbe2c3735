// Hyper-parameters of every supported family, read from and written to GGUF metadata
// (<arch>.* keys, as llama.cpp reads them). One struct for all families: the dense ones
// (llama, qwen2, qwen3) use the common part, deepseek2 (DeepSeek-V2, V2-Lite, V3, R1)
// adds multi-head latent attention (`mla`), DeepSeekMoE (`moe`) and YaRN (`rope`).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace r1 {

namespace gguf {
class Metadata;
class Writer;
}  // namespace gguf

enum class Arch { llama, qwen2, qwen3, deepseek2 };
const char* arch_name(Arch a);
// "llama" -> Arch::llama, ...; false for an unknown name.
bool parse_arch(const std::string& name, Arch* out);

enum class RopeStyle { normal, neox };  // normal: adjacent pairs (llama, deepseek2); neox: halves (qwen)

// RoPE as ggml's rope op receives it (ggml_rope_ext arguments). For pair i < n_dims/2 at
// position p: theta_extrap = p * freq_base^(-2i/n_dims) / freq_factor_i, theta_interp =
// freq_scale * theta_extrap, mixed by the YaRN ramp when ext_factor != 0 (rope.cpp).
struct RopeParams {
  RopeStyle style = RopeStyle::normal;
  int64_t n_dims = 0;        // rotated dims of each head (rope.dimension_count)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;   // 1 / rope.scaling.factor (linear or YaRN)
  float ext_factor = 0.0f;   // 1 for YaRN, else 0
  float attn_factor = 1.0f;  // magnitude factor (llama.cpp cparams.yarn_attn_factor)
  float beta_fast = 32.0f;
  float beta_slow = 1.0f;
  int64_t n_ctx_orig = 0;    // rope.scaling.original_context_length (YaRN)
};

enum class MoeGating { softmax, sigmoid };

// deepseek2: Multi-head Latent Attention. The cache holds, per token and layer, the
// normalised latent (kv_lora_rank) and the shared rope key (rope.n_dims).
struct MlaParams {
  int64_t q_lora_rank = 0;   // 0: plain attn_q (V2-Lite); else attn_q_a / q_a_norm / attn_q_b
  int64_t kv_lora_rank = 0;
  int64_t qk_nope = 0;       // per-head query/key dims without RoPE
  int64_t v_head = 0;        // per-head value dims
  float kq_scale = 0.0f;     // mscale^2 / sqrt(qk_nope + qk_rope)
  bool legacy_kv_b = false;  // the file holds one attn_kv_b per layer (legacy layout): k_b / v_b derived at load
};

// deepseek2: DeepSeekMoE feed-forward (leading dense blocks, then routed + shared experts).
struct MoeParams {
  int64_t n_dense_lead = 0;   // leading_dense_block_count
  int64_t n_ff_exp = 0;       // expert_feed_forward_length: one expert (routed or shared)
  int64_t n_expert = 0;       // routed experts
  int64_t n_expert_used = 0;  // routed experts per token
  int64_t n_expert_shared = 0;
  int64_t n_group = 0;        // expert_group_count (<= 1: no group limit)
  int64_t n_group_used = 0;   // expert_group_used_count
  float weights_scale = 0.0f; // applied when not 0 and not 1 (as llama.cpp)
  bool weights_norm = false;
  MoeGating gating = MoeGating::softmax;
};

struct ModelConfig {
  Arch arch = Arch::llama;
  std::string name;         // general.name
  int64_t n_vocab = 0;      // rows of token_embd
  int64_t n_embd = 0;       // hidden size
  int64_t n_layer = 0;      // decoder layers the forward pass runs
  int64_t n_nextn = 0;      // deepseek2: trailing multi-token-prediction layers in the file (not run)
  int64_t n_head = 0;
  int64_t n_head_kv = 0;    // deepseek2: 1 (one latent per token)
  int64_t head_dim = 0;     // query/key size of a head (deepseek2: qk_nope + qk_rope)
  int64_t n_ff = 0;         // feed_forward_length (deepseek2: the leading dense blocks)
  int64_t n_ctx_train = 0;  // context_length
  float rms_eps = 1e-6f;    // attention.layer_norm_rms_epsilon
  bool tied_output = false; // no output.weight: the embedding is reused
  RopeParams rope;
  // rope.scaling as stored: "none" | "linear" | "yarn", the factor (0 = none given) and
  // the YaRN log multiplier (llama.cpp hparams.rope_yarn_log_mul = GGUF value / 0.1).
  std::string rope_scaling = "none";
  float rope_scaling_factor = 0.0f;
  float yarn_log_mul = 0.0f;
  MlaParams mla;            // deepseek2 only
  MoeParams moe;            // deepseek2 only

  bool is_moe_layer(int64_t il) const { return arch == Arch::deepseek2 && il >= moe.n_dense_lead; }
  int64_t qk_rope() const { return rope.n_dims; }

  // Throws r1::Error naming the key for a missing or invalid value, and for an
  // unknown general.architecture.
  static ModelConfig from_gguf(const gguf::Metadata& md);
  // Checks the derived invariants (positive sizes, head multiples, rope dims); throws r1::Error.
  void validate() const;
};

// Best effort, for `r1 inspect` of files r1 cannot run: the keys that size the KV cache
// (layers, heads, head sizes, MLA ranks), read without from_gguf's checks. Architectures
// r1 does not know are read as dense (GQA) attention. nullopt when the metadata does not
// give the attention shape.
std::optional<ModelConfig> attention_shape_of(const gguf::Metadata& md);

// Writes general.architecture, general.name and the <arch>.* keys that from_gguf reads
// back to the same config (n_vocab is the embedding's, written by the caller's tensors).
void write_config_metadata(gguf::Writer& w, const ModelConfig& c);

// deepseek2 (deepseek2_config.cpp): the <arch>.* keys of the MLA/MoE/YaRN families.
void read_deepseek2_config(const gguf::Metadata& md, ModelConfig& c);
void write_deepseek2_metadata(gguf::Writer& w, const ModelConfig& c);

// The rope attn_factor llama.cpp's context passes to every rope op, and the attention
// scale its deepseek2 graph uses, from the scaling hyper-parameters (float arithmetic in
// llama.cpp's order). freq_scale = 1/factor; ext_factor 1 for YaRN.
struct Deepseek2Scales {
  float rope_attn_factor;
  float kq_scale;
};
Deepseek2Scales deepseek2_scales(float freq_scale, float ext_factor, float yarn_log_mul, float rope_attn_factor,
                                 int64_t head_k);

}  // namespace r1
