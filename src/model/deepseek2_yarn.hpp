// YaRN rotary embedding as ggml computes it (ggml-cpu rope_yarn / ggml_rope_cache_init,
// ggml.c ggml_rope_yarn_corr_dims), for the "normal" rope style (adjacent pairs).
//
// For pair i < n_dims/2 at position p (all float arithmetic, in ggml's order):
//   theta_extrap = p * theta_scale^i   (theta_scale = powf(base, -2/n_dims), iterated product)
//   theta_interp = freq_scale * theta_extrap
//   ext_factor != 0: ramp = 1 - clamp((i - low) / max(0.001, high - low), 0, 1)   (low/high: corr dims)
//                    theta = theta_interp * (1 - ramp*ext) + theta_extrap * ramp*ext
//                    m = attn_factor * (1 + 0.1 * logf(1 / freq_scale))
//   else:            theta = theta_interp, m = attn_factor
//   cos = cosf(theta) * m, sin = sinf(theta) * m
// ggml-cpu is compiled for FMA targets, where GCC fuses the first product of each
// a*b + c*d; the same fusions are made here with std::fma (exact on any CPU).
#pragma once
#include <cstdint>

#include "model/deepseek2_config.hpp"

namespace r1 {

// The first and last dims of the YaRN ramp: floor/ceil of
// n_dims * log(n_ctx_orig / (beta * 2 pi)) / (2 log base) for beta_fast / beta_slow,
// clamped to [0, n_dims - 1].
void yarn_corr_dims(const YarnParams& p, float dims[2]);

// Fills cs[2i] = cos, cs[2i+1] = sin (magnitude-scaled) for i < p.n_dims / 2 at `pos`.
void yarn_rope_table(const YarnParams& p, int64_t pos, float* cs);

// Rotates adjacent pairs (x[2i], x[2i+1]) of x (n_dims floats) by the table.
void rope_pairs(float* x, const float* cs, int64_t n_dims);

}  // namespace r1
