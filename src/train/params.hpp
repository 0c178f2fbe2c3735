// Trainable parameters of the dense families (qwen2, llama), laid out as one flat
// float32 buffer. The layout (names, shapes, offsets) is the single tensor table
// of the trainer: init, save, load, export, zero-grad and the optimizer all walk
// it, so there is never a second list of tensors to keep in sync. Names are the
// GGUF tensor names the inference engine binds (model/weights.cpp).
//
// Several buffers share one layout: parameters, gradients, AdamW moments. A
// DenseParams binds typed pointers into any one of them.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/config.hpp"

namespace r1::train {

enum class InitKind { normal, ones, zeros };

struct ParamSpec {
  std::string name;     // GGUF tensor name, e.g. "blk.0.attn_q.weight"
  int64_t rows = 0;     // 0 for a vector
  int64_t cols = 0;     // elements per row (GGML ne[0])
  InitKind init = InitKind::normal;
  float init_std = 0;   // standard deviation for InitKind::normal
  bool decay = false;   // AdamW weight decay applies (matrices only)
  size_t offset = 0;    // first element in the flat buffer
  int64_t numel() const { return (rows > 0 ? rows : 1) * cols; }
  std::vector<int64_t> gguf_shape() const {
    return rows > 0 ? std::vector<int64_t>{cols, rows} : std::vector<int64_t>{cols};
  }
};

// The tensors of `cfg` (arch qwen2 or llama; tied_output respected; qwen2 has
// q/k/v biases), in a fixed order with offsets assigned. Throws r1::Error for an
// architecture or shape the trainer does not support.
class ParamLayout {
 public:
  explicit ParamLayout(const ModelConfig& cfg);
  const std::vector<ParamSpec>& specs() const { return specs_; }
  size_t size() const { return size_; }  // total floats
  const ParamSpec* find(const std::string& name) const;

 private:
  std::vector<ParamSpec> specs_;
  std::unordered_map<std::string, size_t> index_;  // name -> position in specs_
  size_t size_ = 0;
};

// Checks the hyper-parameters the trainer supports; throws r1::Error naming the problem.
void validate_train_config(const ModelConfig& cfg);

template <class T>
struct LayerParamsT {
  T* attn_norm;  // (E)
  T* wq;         // (n_head * HD, E)
  T* bq;         // (n_head * HD) or null (llama)
  T* wk;         // (n_head_kv * HD, E)
  T* bk;         // (n_head_kv * HD) or null
  T* wv;         // (n_head_kv * HD, E)
  T* bv;         // (n_head_kv * HD) or null
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
  auto get = [&](const std::string& name) -> T* {
    const ParamSpec* s = layout.find(name);
    return s ? base + s->offset : nullptr;
  };
  DenseParamsT<T> p;
  p.tok_embd = get("token_embd.weight");
  p.output_norm = get("output_norm.weight");
  p.output = cfg.tied_output ? p.tok_embd : get("output.weight");
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    p.layers.push_back({get(b + "attn_norm.weight"), get(b + "attn_q.weight"), get(b + "attn_q.bias"),
                        get(b + "attn_k.weight"), get(b + "attn_k.bias"), get(b + "attn_v.weight"),
                        get(b + "attn_v.bias"), get(b + "attn_output.weight"), get(b + "ffn_norm.weight"),
                        get(b + "ffn_gate.weight"), get(b + "ffn_up.weight"), get(b + "ffn_down.weight")});
  }
  return p;
}
using DenseParams = DenseParamsT<float>;

// Fills `data` per each spec's init rule from `seed` (same seed => same values).
void init_params(const ParamLayout& layout, uint64_t seed, float* data);

}  // namespace r1::train
