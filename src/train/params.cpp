#include "train/params.hpp"

#include <cassert>
#include <cmath>
#include <fmt/format.h>

#include "base/error.hpp"

namespace r1::train {

namespace {

// SplitMix64 stream seeded per tensor, so values do not depend on tensor order.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }  // (0,1)
};

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

void validate_train_config(const ModelConfig& c) {
  if (c.arch != Arch::qwen2 && c.arch != Arch::llama)
    fail("the trainer supports the qwen2 and llama architectures, not {}", arch_name(c.arch));
  if (c.n_vocab < 1 || c.n_embd < 1 || c.n_layer < 1 || c.n_head < 1 || c.n_head_kv < 1 || c.n_ff < 1 ||
      c.head_dim < 2 || c.n_ctx_train < 1)
    fail("model dimensions must be positive (vocab {}, embd {}, layers {}, heads {}/{}, head size {}, ff {}, ctx {})",
         c.n_vocab, c.n_embd, c.n_layer, c.n_head, c.n_head_kv, c.head_dim, c.n_ff, c.n_ctx_train);
  if (c.n_head % c.n_head_kv != 0) fail("heads ({}) must be a multiple of kv heads ({})", c.n_head, c.n_head_kv);
  if (c.head_dim % 2 != 0 || c.rope_dim % 2 != 0 || c.rope_dim > c.head_dim || c.rope_dim < 2)
    fail("head size {} and rope size {} must be even, rope size at most the head size", c.head_dim, c.rope_dim);
  const RopeStyle want = c.arch == Arch::llama ? RopeStyle::normal : RopeStyle::neox;
  if (c.rope_style != want) fail("rope style does not match the {} architecture", arch_name(c.arch));
  if (c.rope_freq_scale != 1.0f) fail("the trainer does not support RoPE scaling");
}

ParamLayout::ParamLayout(const ModelConfig& c) {
  validate_train_config(c);
  const int64_t E = c.n_embd, HD = c.head_dim, qd = c.n_head * HD, kvd = c.n_head_kv * HD, F = c.n_ff;
  // GPT-2 / llm.c style init: N(0, 0.02), residual output projections scaled by
  // 1/sqrt(2 * n_layer); norms at 1, biases at 0.
  const float std = 0.02f, res_std = 0.02f / std::sqrt(2.0f * static_cast<float>(c.n_layer));
  auto add = [&](std::string name, int64_t rows, int64_t cols, InitKind init, float s, bool decay) {
    ParamSpec p{std::move(name), rows, cols, init, s, decay, size_};
    size_ += static_cast<size_t>(p.numel());
    index_[p.name] = specs_.size();
    specs_.push_back(std::move(p));
  };
  add("token_embd.weight", c.n_vocab, E, InitKind::normal, std, true);
  add("output_norm.weight", 0, E, InitKind::ones, 0, false);
  if (!c.tied_output) add("output.weight", c.n_vocab, E, InitKind::normal, std, true);
  const bool bias = c.arch == Arch::qwen2;
  for (int64_t i = 0; i < c.n_layer; ++i) {
    auto n = [i](const char* s) { return fmt::format("blk.{}.{}", i, s); };
    add(n("attn_norm.weight"), 0, E, InitKind::ones, 0, false);
    add(n("attn_q.weight"), qd, E, InitKind::normal, std, true);
    if (bias) add(n("attn_q.bias"), 0, qd, InitKind::zeros, 0, false);
    add(n("attn_k.weight"), kvd, E, InitKind::normal, std, true);
    if (bias) add(n("attn_k.bias"), 0, kvd, InitKind::zeros, 0, false);
    add(n("attn_v.weight"), kvd, E, InitKind::normal, std, true);
    if (bias) add(n("attn_v.bias"), 0, kvd, InitKind::zeros, 0, false);
    add(n("attn_output.weight"), E, qd, InitKind::normal, res_std, true);
    add(n("ffn_norm.weight"), 0, E, InitKind::ones, 0, false);
    add(n("ffn_gate.weight"), F, E, InitKind::normal, std, true);
    add(n("ffn_up.weight"), F, E, InitKind::normal, std, true);
    add(n("ffn_down.weight"), E, F, InitKind::normal, res_std, true);
  }
}

const ParamSpec* ParamLayout::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &specs_[it->second];
}

void init_params(const ParamLayout& layout, uint64_t seed, float* data) {
  for (const ParamSpec& s : layout.specs()) {
    float* d = data + s.offset;
    const int64_t n = s.numel();
    switch (s.init) {
      case InitKind::ones:
        for (int64_t i = 0; i < n; ++i) d[i] = 1.0f;
        break;
      case InitKind::zeros:
        for (int64_t i = 0; i < n; ++i) d[i] = 0.0f;
        break;
      case InitKind::normal: {
        Rng rng{hash_name(s.name, seed)};
        for (int64_t i = 0; i < n; i += 2) {  // Box-Muller, two values per draw
          const double u1 = rng.uniform(), u2 = rng.uniform();
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
