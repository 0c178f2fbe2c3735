// Rotary position embedding, one implementation for every family: plain (llama, qwen),
// Llama-3 frequency factors (rope_freqs.weight) and YaRN (deepseek2), as ggml computes it
// (ggml-cpu rope_yarn / ggml_rope_cache_init, ggml.c ggml_rope_yarn_corr_dims).
//
// For pair i < n_dims/2 at position p (all float arithmetic, in ggml's order):
//   theta_extrap = p * theta_scale^i / ff_i   (theta_scale = powf(base, -2/n_dims), iterated
//                                              product; ff_i = freq factor, 1 when none)
//   theta_interp = freq_scale * theta_extrap
//   ext_factor != 0: ramp = 1 - clamp((i - low) / max(0.001, high - low), 0, 1)   (low/high: corr dims)
//                    theta = theta_interp * (1 - ramp*ext) + theta_extrap * ramp*ext
//                    m = attn_factor * (1 + 0.1 * logf(1 / freq_scale))
//   else:            theta = theta_interp, m = attn_factor
//   cos = cosf(theta) * m, sin = sinf(theta) * m
// ggml-cpu is compiled for FMA targets, where GCC fuses the first product of each
// a*b + c*d; the same fusions are made here with std::fma (exact on any CPU).
// The table is computed once per token and shared by every head of every layer.
#pragma once
#include <cstdint>
#include <vector>

#include "model/config.hpp"

namespace r1 {

// The first and last dims of the YaRN ramp: floor/ceil of
// n_dims * log(n_ctx_orig / (beta * 2 pi)) / (2 log base) for beta_fast / beta_slow,
// clamped to [0, n_dims - 1].
void rope_corr_dims(const RopeParams& p, float dims[2]);

// Fills cs[2i] = cos, cs[2i+1] = sin (magnitude-scaled) for i < p.n_dims / 2 at `pos`.
// freq_factors: n_dims / 2 divisors of the base frequencies, or null.
void rope_table(const RopeParams& p, const float* freq_factors, int64_t pos, float* cs);

// Rotates the first n_dims values of one head vector x by the table: normal style the
// adjacent pairs (x[2i], x[2i+1]), neox style the halves (x[i], x[i + n_dims/2]).
void rope_apply(float* x, const float* cs, int64_t n_dims, RopeStyle style);

}  // namespace r1

// The training pair (blocks/backprop.hpp): precomputed tables in double, rotation and its
// inverse over float or double rows of several heads.
namespace r1::train {

// Rotary embedding tables for positions [0, max_pos): theta(p, i) = p * base^(-2i/rope_dim).
struct RopeTable {
  int64_t rope_dim = 0, max_pos = 0;
  RopeStyle style = RopeStyle::neox;  // neox rotates (i, i + rope_dim/2); normal rotates (2i, 2i+1)
  std::vector<float> cos, sin;        // (max_pos, rope_dim / 2)
  RopeTable() = default;
  RopeTable(int64_t rope_dim, int64_t max_pos, float base, RopeStyle style);
};
// In place: rotates the first rope_dim dims of every head (n_head heads of head_dim
// per row) of row t by the angles of position pos[t].
template <class T>
void rope_forward(T* x, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt);
// In place: turns d(loss)/d(rotated) into d(loss)/d(input) (the inverse rotation).
template <class T>
void rope_backward(T* dx, const int32_t* pos, int64_t n, int64_t n_head, int64_t head_dim, const RopeTable& rt);

}  // namespace r1::train
