// Hugging Face config.json -> the model config r1 (and llama.cpp) reads from GGUF metadata,
// for the families r1 runs: qwen2 (Qwen2ForCausalLM, the R1-Distill-Qwen models), llama
// (LlamaForCausalLM, R1-Distill-Llama; Llama-3 RoPE scaling), qwen3 (Qwen3ForCausalLM,
// R1-0528-Qwen3) and deepseek2 (DeepseekV2ForCausalLM / DeepseekV3ForCausalLM: MLA,
// DeepSeekMoE, YaRN, FP8 block-scaled weights).
//
// Contract: parse_hf_config accepts what transformers accepts for these model types and
// maps it the way llama.cpp's convert_hf_to_gguf.py does; anything r1 would compute
// differently (YaRN on a dense family, attention/MLP biases llama.cpp's llama graph does
// not have, other quantization methods, moe_layer_freq != 1) is a clear r1::Error naming
// config.json and the key, never a silently different model. Multi-token-prediction layers
// (num_nextn_predict_layers) are dropped, as llama.cpp's converter drops them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

// rope_scaling {"rope_type": "llama3", ...} (Llama 3.1+): per-frequency factors.
struct Llama3Rope {
  double factor = 8, low_freq_factor = 1, high_freq_factor = 4;
  int64_t original_context = 8192;  // original_max_position_embeddings
};
// The rope_freqs tensor (rope_dim / 2 factors) llama.cpp's converter computes.
std::vector<float> llama3_rope_factors(int64_t rope_dim, float theta, const Llama3Rope& r = {});

struct HfConfig {
  ModelConfig cfg;        // n_vocab = vocab_size (the embedding's rows decide in the end)
  TensorChoices choices;  // rope_freqs (llama3), exp_probs_b (noaux_tc)
  Llama3Rope llama3;
  bool fp8 = false;       // quantization_config: fp8 e4m3, 128 x 128 weight blocks
  std::string torch_dtype;
  int64_t dropped_nextn = 0;  // multi-token-prediction layers in the checkpoint, not converted
  std::vector<std::string> warnings;
};

// `path` is used in error messages; `name` becomes general.name.
HfConfig parse_hf_config(std::string_view json_text, const std::string& path, const std::string& name);

// generation_config.json: the sampling defaults llama.cpp's converter stores as
// general.sampling.temp / top_p / top_k (absent fields stay -1).
struct HfSampling {
  float temp = -1, top_p = -1;
  int64_t top_k = -1;
};
HfSampling parse_hf_generation_config(std::string_view json_text, const std::string& path);

}  // namespace r1
