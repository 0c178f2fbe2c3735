// llama-quantize's per-tensor type rules (llama_tensor_get_type in src/llama-quant.cpp of
// llama.cpp release v0.4.0, the build node-llama-cpp 3.21.1 ships), as data in, types out.
//
// A file type such as Q4_K_M is a mix: most weights get its default type (Q4_K) and some
// get more bits: output.weight (and token_embd when the embedding is tied) Q6_K, attn_v /
// ffn_down Q6_K on the first and last eighth of the layers and every third in between,
// bumps that depend on the grouped-query factor n_head / n_head_kv, on the expert count
// (8-expert models) and on whether an importance matrix is given; rows whose length is not
// a multiple of the chosen block size fall back to a type whose block fits (Q4_K -> Q5_0,
// Q6_K -> Q8_0, 256-block i-quants -> IQ4_NL, Q2_K/Q3_K -> Q4_0, then F16).
//
// Contract: plan_tensor_types(tensors, params) returns, for each input tensor in input
// order, the type llama-quantize would store it as. The rules keep counters (the how-many-
// th attn_v / ffn_down this is), which llama.cpp advances in its own tensor order (by layer
// number, then by name, non-layer tensors first); the plan reproduces that order
// internally, so the caller may pass tensors in file order. Tensors that llama-quantize
// does not quantize (1-D, norms, the MoE router, names not ending in "weight", ...) keep
// their type. Throws r1::Error where llama.cpp does (a per-expert tensor whose layer cannot
// be parsed from its name).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/types.hpp"
#include "model/registry/registry.hpp"

namespace r1 {

// What the rules read of the model (GGUF metadata of the input file).
struct MixModel {
  std::string arch;        // general.architecture ("falcon" has rules of its own)
  int64_t n_layer = 0;     // <arch>.block_count (all layers, multi-token-prediction ones too)
  int64_t n_head = 0;      // <arch>.attention.head_count (of layer 0)
  int64_t n_head_kv = 0;   // <arch>.attention.head_count_kv (of layer 0; defaults to n_head)
  int64_t n_expert = 0;    // <arch>.expert_count (0 for dense models)
  int64_t n_gqa() const { return n_head_kv > 0 ? n_head / n_head_kv : 0; }
  // llama.cpp's "70B" model class, which gets more bits for attn_v: llama with 80 layers
  // and grouped-query attention, qwen2 with 80 layers.
  bool is_70b() const;
};

struct MixParams {
  FileType file_type = FileType::q8_0;
  bool has_imatrix = false;       // an importance matrix is given
  bool pure = false;              // --pure: every quantizable weight gets the default type
  bool quantize_output = true;    // false: --leave-output-tensor
  bool has_output_type = false;   // --output-tensor-type
  DType output_type = DType::F32;
  bool has_token_embd_type = false;  // --token-embedding-type
  DType token_embd_type = DType::F32;
  std::vector<TypeOverride> overrides;  // --tensor-type PATTERN=TYPE, first match wins
};

struct MixTensor {
  std::string name;
  std::vector<int64_t> shape;  // GGML order
  DType type = DType::F32;     // type in the input file
};

struct MixPlan {
  std::vector<DType> types;        // per input tensor
  std::vector<bool> quantizable;   // llama-quantize may change its type (tensor_allows_quantization)
  std::vector<bool> needs_imatrix; // its chosen type is not usable without an importance matrix
  int n_fallback = 0;              // tensors that fell back for their row length
};

MixPlan plan_tensor_types(const std::vector<MixTensor>& tensors, const MixModel& model, const MixParams& params);

// One tensor's type with the counters as they stand at `layer` of a dense model with an
// untied output (what the registry's per-spec quant_type uses; plan_tensor_types is the
// exact form for a whole file).
DType mix_type_at(const MixTensor& t, int64_t layer, const MixModel& model, const MixParams& params);

// The order llama-quantize writes tensors in (layer number, then name; names without a
// layer first): indices into `names`.
std::vector<size_t> llama_tensor_order(const std::vector<std::string>& names);

// llama.cpp's token-embedding names (token_embd.weight, per_layer_token_embd.weight).
bool is_token_embd(const std::string& name);

// The default (most common) stored type of a file type.
DType file_type_default(FileType t);

}  // namespace r1
