// Writes random-weight GGUF models of the dense families with real or toy shapes,
// loadable by r1 and by llama.cpp. Used for differential tests against llama.cpp
// and for speed work where real weights cannot be downloaded.
//
// Contract: the same spec (incl. seed) gives a byte-identical file whatever the
// thread count. Weights are scaled so that activations stay O(1) and next-token
// distributions are peaked (logit standard deviation about `logit_std`), which
// makes greedy comparisons meaningful.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace r1 {

enum class WeightMix { f32, f16, bf16, q8_0, q4_0, q4_k_m };
bool parse_weight_mix(const std::string& s, WeightMix* out);
const char* weight_mix_name(WeightMix m);

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
  WeightMix mix = WeightMix::f32;
  uint64_t seed = 1;
  float logit_std = 4.0f;
  std::string tokenizer_json;  // empty = the built-in byte-level vocabulary
  std::string chat_template;   // template text to embed (empty = none)
};

// Preset names: tiny, r1-distill-qwen-1.5b, r1-distill-qwen-7b, r1-distill-llama-8b.
// The preset fixes the architecture of the real model; "tiny" keeps `arch`.
std::vector<std::string> gen_model_preset_names();
GenModelSpec gen_model_preset(const std::string& preset, Arch arch);

// Writes the model atomically to `path` (temp file + rename). Throws r1::Error.
void write_random_model(const GenModelSpec& spec, const std::string& path, int n_threads = 0);

}  // namespace r1
