// Where each registry tensor comes from in a Hugging Face checkpoint (the transformers
// names of Qwen2ForCausalLM, LlamaForCausalLM, Qwen3ForCausalLM and
// DeepseekV2/V3ForCausalLM), and how its GGUF form is made from them. The HF names are
// spelled only in hf_names.cpp, as the GGUF names are only in tensor_names.cpp.
//
// Layout facts (llama.cpp's convert_hf_to_gguf.py gives the same tensors):
//   - A 2-D HF weight [out, in] (row-major) is the GGML tensor {in, out}: same bytes.
//   - llama only: q_proj / k_proj rows are permuted from HF's rotate-half order to the
//     interleaved pairs ggml's normal RoPE rotates. Within each head of D rows, GGUF row
//     2i + j is HF row j * D/2 + i (i < D/2, j in {0, 1}).
//   - deepseek2: the routed experts' per-expert matrices are stacked into one 3-D tensor
//     (expert e = matrix e); kv_b_proj [H * (nope + v), kv_lora] gives attn_v_b (per head
//     its v value rows) and attn_k_b (per head the transpose of its nope key rows).
//   - Llama-3 RoPE: rope_freqs is computed from config.json's rope_scaling.
#pragma once
#include <string>
#include <vector>

#include "model/registry/registry.hpp"

namespace r1 {

enum class HfTransform : uint8_t {
  copy,           // one source, same shape
  permute_rope,   // one source, rows permuted per head (llama attn_q / attn_k, weight or bias)
  stack,          // one source per stacked matrix (routed experts), in order
  kv_b_value,     // from kv_b_proj: the v rows of each head
  kv_b_key_t,     // from kv_b_proj: the nope rows of each head, transposed
  computed,       // no source (rope_freqs)
};

struct HfSource {
  HfTransform how = HfTransform::copy;
  std::vector<std::string> names;  // HF tensor names (empty for computed)
  int64_t heads = 0;               // permute_rope: heads the rows are grouped in
  bool optional = false;           // may be absent (lm_head with tied embeddings)
};

// The source of `spec` for a model of config `c`. Throws r1::Error for a tensor kind
// that has no Hugging Face counterpart r1 converts (multi-token-prediction layers).
HfSource hf_source_of(const TensorSpec& spec, const ModelConfig& c);

// HF tensors a checkpoint may hold that the conversion does not use on purpose (not
// warned about): rotary inv_freq buffers, FP8 scale companions, and, for deepseek2, the
// multi-token-prediction layers at index >= n_layer (llama.cpp drops them too).
bool hf_tensor_ignored(const std::string& name, const ModelConfig& c);

}  // namespace r1
