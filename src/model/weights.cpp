#include "model/weights.hpp"

#include <fmt/format.h>

#include <set>

#include "base/error.hpp"
#include "base/log.hpp"
#include "format/gguf.hpp"

namespace r1 {

namespace {

std::string shape_str(const std::vector<int64_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

WeightView view_of(const TensorSpec& s, DType type, const void* data) {
  WeightView w;
  w.type = type;
  w.cols = s.shape[0];
  w.rows = s.rows();
  w.row_stride = row_bytes(type, w.cols);
  w.data = data;
  w.name = s.name.c_str();
  return w;
}

}  // namespace

void ModelWeights::add(BoundTensor t) {
  index_[key(t.spec.kind, t.spec.layer)] = tensors_.size();
  bytes_ += t.nbytes;
  tensors_.push_back(std::move(t));
  tensors_.back().view.name = tensors_.back().spec.name.c_str();  // deque: stays valid
}

const BoundTensor* ModelWeights::find(TensorKind k, int64_t layer) const {
  const auto it = index_.find(key(k, layer));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const WeightView& ModelWeights::matrix(TensorKind k, int64_t layer) const {
  const BoundTensor* t = find(k, layer);
  if (!t) fail("internal: tensor '{}' is not bound", tensor_name(k, layer));
  return t->view;
}

const float* ModelWeights::vector(TensorKind k, int64_t layer) const {
  const BoundTensor* t = find(k, layer);
  return t ? t->values : nullptr;
}

StackedWeight ModelWeights::stacked(TensorKind k, int64_t layer, int64_t rows_each, int64_t rows, int64_t row0) const {
  StackedWeight s;
  s.w = matrix(k, layer);
  s.w.rows = rows;
  s.w.data = static_cast<const uint8_t*>(s.w.data) + static_cast<size_t>(row0) * s.w.row_stride;
  s.stride = static_cast<size_t>(rows_each) * s.w.row_stride;
  return s;
}

ModelWeights bind_file_weights(const gguf::File& file, ModelConfig& cfg) {
  const gguf::TensorInfo* embd = file.find_tensor(tensor_name(TensorKind::token_embd));
  if (!embd) fail("{}: missing tensor '{}'", file.name(), tensor_name(TensorKind::token_embd));
  if (embd->shape.size() != 2)
    fail("{}: tensor '{}' has shape {}, expected 2 dimensions", file.name(), embd->name, shape_str(embd->shape));
  cfg.n_vocab = embd->shape[1];
  cfg.tied_output = file.find_tensor(tensor_name(TensorKind::output)) == nullptr;
  const std::vector<TensorSpec> specs = model_tensors(cfg, tensor_choices_of(cfg, file));

  ModelWeights w;
  std::set<std::string> used;
  size_t skipped = 0;
  for (const auto& t : file.tensors())  // every tensor of a skipped (MTP) layer: known, not read
    if (cfg.n_nextn > 0 && tensor_layer(t.name) >= cfg.n_layer) {
      used.insert(t.name);
      ++skipped;
    }
  for (const TensorSpec& s : specs) {
    if (s.presence == Presence::skipped) continue;
    const gguf::TensorInfo* t = file.find_tensor(s.name);
    if (!t) fail("{}: missing tensor '{}'", file.name(), s.name);
    if (t->shape != s.shape)
      fail("{}: tensor '{}' has shape {}, expected {}", file.name(), s.name, shape_str(t->shape), shape_str(s.shape));
    const TypeTraits* tr = find_traits(t->type);
    BoundTensor b;
    b.spec = s;
    b.nbytes = t->nbytes;
    b.file_offset = file.data_offset() + t->offset;
    if (s.is_vector()) {
      if (!tr || !tr->to_float || tr->quantized)
        fail("{}: tensor '{}' has type {}; expected f32, f16 or bf16", file.name(), s.name, dtype_name(t->type));
      if (t->type == DType::F32) {
        b.values = reinterpret_cast<const float*>(t->data);
      } else {
        b.owned.resize(static_cast<size_t>(s.shape[0]));
        tr->to_float(t->data, b.owned.data(), s.shape[0]);
      }
    } else if (!tr || !tr->vec_dot) {
      fail("{}: tensor '{}' has type {}, which cannot be used as a weight matrix", file.name(), s.name,
           dtype_name(t->type));
    }
    b.view = view_of(s, t->type, t->data);
    used.insert(s.name);
    w.add(std::move(b));
  }
  for (BoundTensor& b : w.tensors())
    if (!b.owned.empty()) b.values = b.owned.data();
  if (const float* f = w.vector(TensorKind::rope_freqs))
    for (int64_t i = 0; i < cfg.rope.n_dims / 2; ++i)
      if (!(f[i] > 0))
        fail("{}: tensor '{}' has a non-positive factor", file.name(), tensor_name(TensorKind::rope_freqs));
  if (skipped > 0)
    log(LogLevel::info, "{}: skipping {} tensors of {} multi-token-prediction layer(s)", file.name(), skipped,
        cfg.n_nextn);
  for (const auto& t : file.tensors())
    if (!used.count(t.name)) log(LogLevel::warn, "{}: ignoring unused tensor '{}'", file.name(), t.name);
  return w;
}

ModelWeights bind_float_weights(const std::vector<TensorSpec>& specs, const std::vector<size_t>& offsets,
                                const float* base) {
  if (offsets.size() != specs.size()) fail("internal: {} offsets for {} tensors", offsets.size(), specs.size());
  ModelWeights w;
  for (size_t i = 0; i < specs.size(); ++i) {
    BoundTensor b;
    b.spec = specs[i];
    const float* p = base + offsets[i];
    b.nbytes = static_cast<size_t>(specs[i].numel()) * sizeof(float);
    b.view = view_of(specs[i], DType::F32, p);
    if (specs[i].is_vector()) b.values = p;
    w.add(std::move(b));
  }
  return w;
}

}  // namespace r1
