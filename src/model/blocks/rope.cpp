#include "model/blocks/rope.hpp"

#include <algorithm>
#include <cmath>

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
