#include "model/blocks/rope.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "model/blocks/backprop.hpp"

namespace r1 {

namespace {

float corr_dim(int64_t n_dims, int64_t n_ctx_orig, float beta, float base) {
  // same operand types as ggml: int * logf(int / float) / (2 * logf(float))
  return static_cast<float>(n_dims) *
         logf(static_cast<float>(n_ctx_orig) / (beta * 2 * static_cast<float>(M_PI))) / (2 * logf(base));
}

}  // namespace

void rope_corr_dims(const RopeParams& p, float dims[2]) {
  const float start = floorf(corr_dim(p.n_dims, p.n_ctx_orig, p.beta_fast, p.freq_base));
  const float end = ceilf(corr_dim(p.n_dims, p.n_ctx_orig, p.beta_slow, p.freq_base));
  dims[0] = std::max(0.0f, start);
  dims[1] = std::min(static_cast<float>(p.n_dims - 1), end);
}

void rope_table(const RopeParams& p, const float* freq_factors, int64_t pos, float* cs) {
  const float theta_scale = powf(p.freq_base, -2.0f / static_cast<float>(p.n_dims));
  float dims[2] = {0, 0};
  if (p.ext_factor != 0.0f) rope_corr_dims(p, dims);
  float theta_base = static_cast<float>(pos);
  for (int64_t i0 = 0; i0 < p.n_dims; i0 += 2) {
    const float theta_extrap = freq_factors ? theta_base / freq_factors[i0 / 2] : theta_base;
    const float theta_interp = p.freq_scale * theta_extrap;
    float theta = theta_interp;
    float mscale = p.attn_factor;
    if (p.ext_factor != 0.0f) {
      const float y = (static_cast<float>(i0 / 2) - dims[0]) / std::max(0.001f, dims[1] - dims[0]);
      const float ramp_mix = (1 - std::min(1.0f, std::max(0.0f, y))) * p.ext_factor;
      // ggml-cpu is built for FMA targets and GCC fuses the first product of a sum
      theta = std::fma(theta_interp, 1 - ramp_mix, theta_extrap * ramp_mix);
      mscale *= std::fma(0.1f, logf(1.0f / p.freq_scale), 1.0f);
    }
    cs[i0] = cosf(theta) * mscale;
    cs[i0 + 1] = sinf(theta) * mscale;
    theta_base *= theta_scale;
  }
}

void rope_apply(float* x, const float* cs, int64_t n_dims, RopeStyle style) {
  const int64_t half = n_dims / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float c = cs[2 * i], s = cs[2 * i + 1];
    const int64_t a = style == RopeStyle::normal ? 2 * i : i;
    const int64_t b = style == RopeStyle::normal ? 2 * i + 1 : i + half;
    const float x0 = x[a], x1 = x[b];
    x[a] = std::fma(x0, c, -(x1 * s));  // ggml's rotate_pairs as GCC contracts it (see the header)
    x[b] = std::fma(x0, s, x1 * c);
  }
}

}  // namespace r1

namespace r1::train {

using namespace detail;

// ---------------------------------------------------------------- rope

RopeTable::RopeTable(int64_t rope_dim_, int64_t max_pos_, float base, RopeStyle style_)
    : rope_dim(rope_dim_), max_pos(max_pos_), style(style_) {
  const int64_t half = rope_dim / 2;
  cos.resize(static_cast<size_t>(max_pos * half));
  sin.resize(cos.size());
  for (int64_t p = 0; p < max_pos; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double theta =
          static_cast<double>(p) * std::pow(static_cast<double>(base), -2.0 * i / static_cast<double>(rope_dim));
      cos[static_cast<size_t>(p * half + i)] = static_cast<float>(std::cos(theta));
      sin[static_cast<size_t>(p * half + i)] = static_cast<float>(std::sin(theta));
    }
}

namespace {
template <class T>
void rope_rotate(T* x, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt,
                 T sign) {
  const int64_t half = rt.rope_dim / 2;
  for (int64_t t = 0; t < n; ++t) {
    assert(pos[t] >= 0 && pos[t] < rt.max_pos);
    const float* cs = rt.cos.data() + pos[t] * half;
    const float* sn = rt.sin.data() + pos[t] * half;
    for (int64_t h = 0; h < n_head; ++h) {
      T* v = x + (t * n_head + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = rt.style == RopeStyle::normal ? 2 * i : i;
        const int64_t b = rt.style == RopeStyle::normal ? 2 * i + 1 : i + half;
        const T c = cs[i], s = sign * static_cast<T>(sn[i]);
        const T x0 = v[a], x1 = v[b];
        v[a] = x0 * c - x1 * s;
        v[b] = x0 * s + x1 * c;
      }
    }
  }
}
}  // namespace

template <class T>
void rope_forward(T* x, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt) {
  rope_rotate(x, pos, n, n_head, head_dim, rt, T(1));
}

template <class T>
void rope_backward(T* dx, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt) {
  rope_rotate(dx, pos, n, n_head, head_dim, rt, T(-1));  // rotation matrices are orthogonal: R^T = R(-theta)
}

#define R1_ROPE_TRAIN(T) \
  template void rope_forward<T>(T*, const int32_t*, int64_t, int64_t, int64_t, const RopeTable&); \
  template void rope_backward<T>(T*, const int32_t*, int64_t, int64_t, int64_t, const RopeTable&);

R1_ROPE_TRAIN(float)
R1_ROPE_TRAIN(double)

#undef R1_ROPE_TRAIN

}  // namespace r1::train
