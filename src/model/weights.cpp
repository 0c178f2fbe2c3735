#include "model/weights.hpp"

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/log.hpp"
#include "format/gguf.hpp"

namespace r1 {

namespace {

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

class Binder {
 public:
  explicit Binder(const gguf::File& f) : file_(f) {}

  // A 2-D weight of logical shape (rows, cols): GGML shape [cols, rows].
  WeightView matrix(const std::string& name, int64_t rows, int64_t cols, bool required = true) {
    const gguf::TensorInfo* t = find(name, required);
    if (!t) return {};
    check_shape(*t, {cols, rows});
    const TypeTraits* tr = find_traits(t->type);
    if (!tr || !tr->vec_dot)
      fail("{}: tensor '{}' has type {}, which cannot be used as a weight matrix", file_.name(), name,
           dtype_name(t->type));
    WeightView w;
    w.type = t->type;
    w.rows = rows;
    w.cols = cols;
    w.row_stride = row_bytes(t->type, cols);
    w.data = t->data;
    w.name = t->name.c_str();
    bytes_ += t->nbytes;
    return w;
  }

  // A 1-D float vector of n elements (F32, F16 or BF16 in the file).
  std::vector<float> vector(const std::string& name, int64_t n, bool required = true) {
    const gguf::TensorInfo* t = find(name, required);
    if (!t) return {};
    check_shape(*t, {n});
    const TypeTraits* tr = find_traits(t->type);
    if (!tr || !tr->to_float || tr->quantized)
      fail("{}: tensor '{}' has type {}; expected f32, f16 or bf16", file_.name(), name, dtype_name(t->type));
    std::vector<float> out(static_cast<size_t>(n));
    tr->to_float(t->data, out.data(), n);
    bytes_ += t->nbytes;
    return out;
  }

  void warn_unused() const {
    for (const auto& t : file_.tensors())
      if (!used_.count(t.name)) log(LogLevel::warn, "{}: ignoring unused tensor '{}'", file_.name(), t.name);
  }
  size_t bytes() const { return bytes_; }

 private:
  const gguf::TensorInfo* find(const std::string& name, bool required) {
    const gguf::TensorInfo* t = file_.find_tensor(name);
    if (!t) {
      if (required) fail("{}: missing tensor '{}'", file_.name(), name);
      return nullptr;
    }
    used_.insert(name);
    return t;
  }

  void check_shape(const gguf::TensorInfo& t, const std::vector<int64_t>& want) {
    if (t.shape != want)
      fail("{}: tensor '{}' has shape {}, expected {}", file_.name(), t.name, shape_str(t.shape), shape_str(want));
  }

  const gguf::File& file_;
  std::set<std::string> used_;
  size_t bytes_ = 0;
};

}  // namespace

DenseWeights bind_dense_weights(const gguf::File& file, ModelConfig& cfg) {
  Binder b(file);
  DenseWeights w;
  const gguf::TensorInfo* embd = file.find_tensor("token_embd.weight");
  if (!embd) fail("{}: missing tensor 'token_embd.weight'", file.name());
  if (embd->shape.size() != 2)
    fail("{}: tensor 'token_embd.weight' has shape {}, expected 2 dimensions", file.name(), shape_str(embd->shape));
  cfg.n_vocab = embd->shape[1];
  const int64_t E = cfg.n_embd, V = cfg.n_vocab, HD = cfg.head_dim;
  const int64_t q_dim = cfg.n_head * HD, kv_dim = cfg.n_head_kv * HD;

  w.tok_embd = b.matrix("token_embd.weight", V, E);
  w.output_norm = b.vector("output_norm.weight", E);
  w.output = b.matrix("output.weight", V, E, /*required=*/false);
  cfg.tied_output = w.output.data == nullptr;
  if (cfg.tied_output) w.output = w.tok_embd;
  if (cfg.arch == Arch::llama) {
    w.rope_freqs = b.vector("rope_freqs.weight", cfg.rope_dim / 2, /*required=*/false);
    for (float f : w.rope_freqs)
      if (!(f > 0)) fail("{}: tensor 'rope_freqs.weight' has a non-positive factor", file.name());
  }

  w.layers.resize(static_cast<size_t>(cfg.n_layer));
  for (int64_t i = 0; i < cfg.n_layer; ++i) {
    LayerWeights& L = w.layers[static_cast<size_t>(i)];
    auto n = [i](const char* suffix) { return fmt::format("blk.{}.{}", i, suffix); };
    L.attn_norm = b.vector(n("attn_norm.weight"), E);
    L.wq = b.matrix(n("attn_q.weight"), q_dim, E);
    L.wk = b.matrix(n("attn_k.weight"), kv_dim, E);
    L.wv = b.matrix(n("attn_v.weight"), kv_dim, E);
    const bool biases = cfg.arch == Arch::qwen2;
    L.bq = b.vector(n("attn_q.bias"), q_dim, biases);
    L.bk = b.vector(n("attn_k.bias"), kv_dim, biases);
    L.bv = b.vector(n("attn_v.bias"), kv_dim, biases);
    if (cfg.arch == Arch::qwen3) {
      L.q_norm = b.vector(n("attn_q_norm.weight"), HD);
      L.k_norm = b.vector(n("attn_k_norm.weight"), HD);
    }
    L.wo = b.matrix(n("attn_output.weight"), E, q_dim);
    L.bo = b.vector(n("attn_output.bias"), E, false);
    L.ffn_norm = b.vector(n("ffn_norm.weight"), E);
    L.w_gate = b.matrix(n("ffn_gate.weight"), cfg.n_ff, E);
    L.w_up = b.matrix(n("ffn_up.weight"), cfg.n_ff, E);
    L.w_down = b.matrix(n("ffn_down.weight"), E, cfg.n_ff);
  }
  b.warn_unused();
  w.bytes = b.bytes();
  return w;
}

}  // namespace r1
