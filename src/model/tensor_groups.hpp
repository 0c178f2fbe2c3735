// Tensor groups: what part of the model a tensor belongs to, by its registry kind, for
// reports of mixed-quantization files (`r1 inspect`: bits per weight per group). The
// DeepSeek-R1 "dynamic quants" put their routed experts in a 1-2 bit type and keep
// attention, shared experts and the output in 4-6 bits; one file-wide bits per weight
// hides that. Names are parsed by the registry's name table (registry/tensor_names.cpp).
#pragma once
#include <cstdint>
#include <string>

#include "model/registry/registry.hpp"

namespace r1 {

enum class TensorGroup : uint8_t {
  routed_experts,    // ffn_{gate,up,gate_up,down}_exps
  shared_experts,    // ffn_{gate,up,down}_shexp
  attention,         // q/k/v/output projections and their biases, MLA's LoRA and latent projections
  dense_ffn,         // ffn_{gate,up,down} (dense models, deepseek2's leading dense layers)
  embedding_output,  // the embedding and output matrices (and the MTP layers' copies)
  other,             // norms, the router and its bias, rope_freqs, nextn projections, unknown names
  count
};

TensorGroup tensor_group(TensorKind kind);
// The group of a GGUF tensor name; `other` for a name the registry does not know.
TensorGroup tensor_group_of(const std::string& name);
const char* tensor_group_id(TensorGroup g);     // "routed_experts" (JSON)
const char* tensor_group_label(TensorGroup g);  // "routed experts" (text)

}  // namespace r1
