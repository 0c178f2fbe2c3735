// Trainable parameters of the dense families (qwen2, llama, qwen3), laid out as one flat
// float32 buffer. The layout is the registry's tensor table of the config
// (registry/registry.hpp) with an offset per tensor: init, save, load, export,
// zero-grad, the optimizer and the live engine model (Model::over_floats) all walk it,
// so there is never a second list of tensors to keep in sync.
//
// Several buffers share one layout: parameters, gradients, AdamW moments. A
// DenseParams binds typed pointers into any one of them.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/config.hpp"
#include "model/registry/registry.hpp"

namespace r1::train {

struct ParamSpec : TensorSpec {
  size_t offset = 0;    // first element in the flat buffer
  float init_std = 0;   // standard deviation for Init::normal / Init::residual
  bool decay = false;   // AdamW weight decay applies (matrices only)
};

// The tensors of `cfg` (tied_output respected), in registry order with offsets assigned.
// Throws r1::Error for an architecture or shape the trainer does not support.
class ParamLayout {
 public:
  explicit ParamLayout(const ModelConfig& cfg);
  const std::vector<ParamSpec>& specs() const { return specs_; }
  size_t size() const { return size_; }  // total floats
  int64_t n_layer() const { return n_layer_; }
  const ParamSpec* find(const std::string& name) const;
  const ParamSpec* find(TensorKind kind, int64_t layer = -1) const;
  // The registry specs and their offsets (for Model::over_floats).
  std::vector<TensorSpec> tensors() const;
  std::vector<size_t> offsets() const;

 private:
  std::vector<ParamSpec> specs_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in specs_
  size_t size_ = 0;
  int64_t n_layer_ = 0;
};

// Checks the hyper-parameters the trainer supports; throws r1::Error naming the problem.
void validate_train_config(const ModelConfig& cfg);

template <class T>
struct LayerParamsT {
  T* attn_norm;  // (E)
  T* wq;         // (n_head * HD, E)
  T* bq;         // (n_head * HD) or null (llama, qwen3)
  T* wk;         // (n_head_kv * HD, E)
  T* bk;         // (n_head_kv * HD) or null
  T* wv;         // (n_head_kv * HD, E)
  T* bv;         // (n_head_kv * HD) or null
  T* q_norm;     // (HD) qwen3, else null
  T* k_norm;     // (HD) qwen3, else null
  T* wo;         // (E, n_head * HD)
  T* ffn_norm;   // (E)
  T* w_gate;     // (n_ff, E)
  T* w_up;       // (n_ff, E)
  T* w_down;     // (E, n_ff)
};

template <class T>
struct DenseParamsT {
  T* tok_embd;     // (V, E)
  T* output_norm;  // (E)
  T* output;       // (V, E); == tok_embd when tied
  std::vector<LayerParamsT<T>> layers;
};

// Typed pointers into `base` (a buffer of layout.size() values).
template <class T>
DenseParamsT<T> bind_params(const ParamLayout& layout, const ModelConfig& cfg, T* base) {
  auto get = [&](TensorKind k, int64_t layer = -1) -> T* {
    const ParamSpec* s = layout.find(k, layer);
    return s ? base + s->offset : nullptr;
  };
  using K = TensorKind;
  DenseParamsT<T> p;
  p.tok_embd = get(K::token_embd);
  p.output_norm = get(K::output_norm);
  p.output = cfg.tied_output ? p.tok_embd : get(K::output);
  for (int64_t i = 0; i < cfg.n_layer; ++i)
    p.layers.push_back({get(K::attn_norm, i), get(K::attn_q, i), get(K::attn_q_bias, i), get(K::attn_k, i),
                        get(K::attn_k_bias, i), get(K::attn_v, i), get(K::attn_v_bias, i), get(K::attn_q_norm, i),
                        get(K::attn_k_norm, i), get(K::attn_output, i), get(K::ffn_norm, i), get(K::ffn_gate, i),
                        get(K::ffn_up, i), get(K::ffn_down, i)});
  return p;
}
using DenseParams = DenseParamsT<float>;

// Fills `data` per each spec's init rule from `seed` (same seed => same values).
void init_params(const ParamLayout& layout, uint64_t seed, float* data);

}  // namespace r1::train
