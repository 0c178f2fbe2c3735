// Writes random-weight GGUF models of every family with real or toy shapes, loadable by
// r1 and by llama.cpp. Used for differential tests against llama.cpp and for speed work
// where real weights cannot be downloaded. The spec gives the shapes; the tensors, their
// stored types (file type) and their order come from the registry (registry/registry.hpp).
//
// Contract: the same spec (incl. seed) gives a byte-identical file whatever the
// thread count. Weights are scaled so that activations stay O(1) and next-token
// distributions are peaked (logit standard deviation about `logit_std`), which
// makes greedy comparisons meaningful: uniform values of standard deviation
// 1/sqrt(fan_in) for matrices, 1 for an untied embedding, logit_std/sqrt(n_embd) for the
// output, 1 +- 0.2 for norm weights, 0.1 for biases.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

struct GenModelSpec {
  Arch arch = Arch::qwen2;
  std::string name = "r1-random";
  int64_t n_vocab = 0;  // 0 = the tokenizer's size; larger pads with unused tokens
  int64_t n_embd = 256;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t head_dim = 64;
  int64_t n_ff = 512;
  int64_t n_ctx = 4096;
  float rope_theta = 10000.0f;
  float rms_eps = 1e-6f;
  bool tied_output = false;
  bool llama3_rope = false;  // llama only: write rope_freqs with Llama-3.1 scaling
  FileType mix = FileType::f32;
  std::vector<TypeOverride> tensor_types;  // per-tensor types over the mix (--tensor-type)
  uint64_t seed = 1;
  float logit_std = 4.0f;
  std::string tokenizer_json;  // empty = the built-in byte-level vocabulary
  std::string chat_template;   // template text to embed (empty = none)
};

// Options of a random model besides its shapes.
struct RandomWeights {
  FileType mix = FileType::f32;
  std::vector<TypeOverride> tensor_types;  // per-tensor types over the mix (--tensor-type)
  uint64_t seed = 1;
  float logit_std = 4.0f;
  std::string tokenizer_json;  // empty = the built-in byte-level vocabulary
  std::string chat_template;   // template text to embed (empty = the tokenizer's, if any)
  bool metadata_only = false;  // the metadata and no tensors (r1 inspect of huge shapes)
};
// Any family: the registry's tensors of `cfg` (n_vocab 0: the tokenizer's size) with
// random values, written atomically to `path`. Throws r1::Error.
void write_random_weights(const ModelConfig& cfg, const TensorChoices& choices, const RandomWeights& rw,
                          const std::string& path, int n_threads = 0);

// Preset names: tiny, r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b.
// The preset fixes the architecture of the real model; "tiny" keeps `arch`.
std::vector<std::string> gen_model_preset_names();
GenModelSpec gen_model_preset(const std::string& preset, Arch arch);

// The config a spec describes (n_vocab 0: the tokenizer's size, resolved when written).
ModelConfig dense_config_of(const GenModelSpec& spec);

// Writes the model atomically to `path` (temp file + rename). Throws r1::Error.
void write_random_model(const GenModelSpec& spec, const std::string& path, int n_threads = 0);

// ---- deepseek2 (DeepSeek-V2 / V3 / R1: MLA + DeepSeekMoE + YaRN) ----------------
// Writes the keys and tensor names llama.cpp reads for deepseek2, in the split MLA
// layout current converters write (attn_k_b / attn_v_b). Same determinism contract.
struct GenDeepseek2Spec {
  std::string name = "r1-random-deepseek2";
  int64_t n_vocab = 0;          // 0 = the tokenizer's size; larger pads with unused tokens
  int64_t n_embd = 256;
  int64_t n_layer = 4;          // decoder layers
  int64_t n_nextn = 0;          // extra multi-token-prediction layers (written, skipped by r1)
  int64_t n_head = 4;
  int64_t q_lora_rank = 96;     // 0 = plain attn_q (V2-Lite)
  int64_t kv_lora_rank = 128;
  int64_t qk_nope = 32;
  int64_t qk_rope = 16;
  int64_t v_head = 32;
  int64_t n_ff = 512;           // leading dense blocks
  int64_t n_ff_exp = 256;       // one expert
  int64_t n_dense_lead = 1;
  int64_t n_expert = 16;
  int64_t n_expert_used = 4;
  int64_t n_expert_shared = 1;
  int64_t n_group = 4;          // <= 1: no group-limited routing
  int64_t n_group_used = 2;
  float expert_weights_scale = 2.5f;
  bool expert_weights_norm = true;
  bool sigmoid_gating = true;   // false: softmax (V2)
  bool probs_bias = true;       // exp_probs_b (V3 selection bias)
  int64_t n_ctx = 1024;
  float rope_theta = 10000.0f;
  float yarn_factor = 16.0f;    // 0 = no rope scaling
  int64_t yarn_orig_ctx = 64;
  float yarn_log_mul = 0.1f;    // GGUF value (0.1 * mscale_all_dim); 0 = not written
  float rms_eps = 1e-6f;
  bool tied_output = false;
  FileType mix = FileType::f32;
  std::vector<TypeOverride> tensor_types;  // per-tensor types over the mix (--tensor-type)
  uint64_t seed = 1;
  float logit_std = 4.0f;
  std::string tokenizer_json;   // empty = the built-in byte-level vocabulary
  std::string chat_template;
  bool metadata_only = false;   // write the metadata and no tensors (for r1 inspect of huge shapes)
  bool legacy_mla = false;      // the older layout: one attn_kv_b per layer, no *_mla keys (same weights)
  std::string derived_split;    // with legacy_mla: also write here the split file of what r1 computes with
};

// Presets: tiny-v3 (every V3 feature at toy size: q LoRA, sigmoid router with bias and
// group limits, weight norm and scale, an MTP layer, YaRN with a 64-token original
// context), tiny-v2lite (no q LoRA, softmax router, two shared experts, YaRN mscale
// 0.707), deepseek-v2-lite (the real V2-Lite shapes, ~15.7B parameters), r1-shaped
// (DeepSeek-V3/R1 shapes with 5 layers and 32 routed experts).
std::vector<std::string> gen_deepseek2_preset_names();
GenDeepseek2Spec gen_deepseek2_preset(const std::string& preset);

ModelConfig deepseek2_config_of(const GenDeepseek2Spec& spec);
void write_random_deepseek2(const GenDeepseek2Spec& spec, const std::string& path, int n_threads = 0);

}  // namespace r1
