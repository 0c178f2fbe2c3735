#include "train/params.hpp"

#include <cmath>

#include "base/error.hpp"
#include "base/rng.hpp"

namespace r1::train {

void validate_train_config(const ModelConfig& c) {
  if (c.arch != Arch::qwen2 && c.arch != Arch::llama && c.arch != Arch::qwen3)
    fail("the trainer supports the qwen2, qwen3 and llama architectures, not {}", arch_name(c.arch));
  if (c.n_vocab < 1 || c.n_embd < 1 || c.n_layer < 1 || c.n_head < 1 || c.n_head_kv < 1 || c.n_ff < 1 ||
      c.head_dim < 2 || c.n_ctx_train < 1)
    fail("model dimensions must be positive (vocab {}, embd {}, layers {}, heads {}/{}, head size {}, ff {}, ctx {})",
         c.n_vocab, c.n_embd, c.n_layer, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_ctx_train);
  if (c.n_head % c.n_head_kv != 0) fail("heads ({}) must be a multiple of kv heads ({})", c.n_head, c.n_head_kv);
  if (c.head_dim % 2 != 0 || c.rope.n_dims % 2 != 0 || c.rope.n_dims > c.head_dim || c.rope.n_dims < 2)
    fail("head size {} and rope size {} must be even, rope size at most the head size", c.head_dim, c.rope.n_dims);
  if (c.arch == Arch::qwen3 && c.rope.n_dims != c.head_dim) fail("qwen3 needs the rope size equal to the head size");
  const RopeStyle want = c.arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  if (c.rope.style != want) fail("rope style does not match the {} architecture", arch_name(c.arch));
  if (c.rope.freq_scale != 1.0f || c.rope.ext_factor != 0.0f) fail("the trainer does not support RoPE scaling");
}

ParamLayout::ParamLayout(const ModelConfig& c) : n_layer_(c.n_layer) {
  validate_train_config(c);
  // GPT-2 / llm.c style init: N(0, 0.02), residual output projections scaled by
  // 1/sqrt(2 * n_layer); norms at 1, biases at 0.
  const float std = 0.02f, res_std = 0.02f / std::sqrt(2.0f * static_cast<float>(c.n_layer));
  for (const TensorSpec& t : model_tensors(c)) {
    ParamSpec p;
    static_cast<TensorSpec&>(p) = t;
    p.offset = size_;
    p.init_std = t.init == Init::normal ? std : t.init == Init::residual ? res_std : 0.0f;
    p.decay = !t.is_vector();
    size_ += static_cast<size_t>(p.numel());
    index_[p.name] = specs_.size();
    specs_.push_back(std::move(p));
  }
}

const ParamSpec* ParamLayout::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &specs_[it->second];
}

const ParamSpec* ParamLayout::find(TensorKind kind, int64_t layer) const { return find(tensor_name(kind, layer)); }

std::vector<TensorSpec> ParamLayout::tensors() const { return {specs_.begin(), specs_.end()}; }

std::vector<size_t> ParamLayout::offsets() const {
  std::vector<size_t> o;
  for (const ParamSpec& s : specs_) o.push_back(s.offset);
  return o;
}

void init_params(const ParamLayout& layout, uint64_t seed, float* data) {
  for (const ParamSpec& s : layout.specs()) {
    float* d = data + s.offset;
    const int64_t n = s.numel();
    switch (s.init) {
      case Init::ones:
        for (int64_t i = 0; i < n; ++i) d[i] = 1.0f;
        break;
      case Init::zeros:
      case Init::computed:
        for (int64_t i = 0; i < n; ++i) d[i] = 0.0f;
        break;
      case Init::normal:
      case Init::residual: {
        SplitMix64 rng{name_hash(s.name, seed * 0x9E3779B97F4A7C15ull)};
        for (int64_t i = 0; i < n; i += 2) {  // Box-Muller, two values per draw
          const double u1 = rng.uniform_open(), u2 = rng.uniform_open();
          const double r = std::sqrt(-2.0 * std::log(u1));
          d[i] = static_cast<float>(s.init_std * r * std::cos(2 * M_PI * u2));
          if (i + 1 < n) d[i + 1] = static_cast<float>(s.init_std * r * std::sin(2 * M_PI * u2));
        }
        break;
      }
    }
  }
}

}  // namespace r1::train
