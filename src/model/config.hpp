// Architecture-neutral hyper-parameters, read from GGUF metadata (<arch>.* keys).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

namespace gguf {
class Metadata;
}

enum class Arch { llama, qwen2, qwen3, deepseek2 };
const char* arch_name(Arch a);

enum class RopeStyle { normal, neox };  // normal: adjacent pairs (llama); neox: halves (qwen)

struct ModelConfig {
  Arch arch = Arch::llama;
  std::string name;         // general.name
  int64_t n_vocab = 0;      // rows of token_embd
  int64_t n_embd = 0;       // hidden size
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;     // attention.key_length (default n_embd / n_head)
  int64_t n_ff = 0;         // feed_forward_length
  int64_t n_ctx_train = 0;  // context_length
  float rms_eps = 1e-6f;    // attention.layer_norm_rms_epsilon
  float rope_theta = 10000.0f;
  float rope_freq_scale = 1.0f;  // 1 / rope.scaling.factor for linear scaling
  int64_t rope_dim = 0;          // rope.dimension_count (default head_dim)
  RopeStyle rope_style = RopeStyle::normal;
  bool tied_output = false;      // no output.weight: the embedding is reused

  // Throws r1::Error naming the key for a missing or invalid value, and for an
  // unknown general.architecture.
  static ModelConfig from_gguf(const gguf::Metadata& md);
};

}  // namespace r1
