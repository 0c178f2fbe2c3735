// The scale searches shared by the weight quantizers (internal to the kernels layer).
// Each one reproduces, operation for operation, a search of llama.cpp's ggml-quants.c, so
// that the quantizers built on them are bit-identical with ggml_quantize_chunk: float
// expressions are evaluated in the same order ((w * x) * l, not w * (x * l)), ties and
// early exits are the same. Scalar baseline code (no FMA contraction: the library is built
// for baseline x86-64), so the compiler may vectorise only where that keeps the order.
//
// Names after what they fit; the ggml function each one mirrors is named in its comment.
#pragma once
#include <cstdint>

namespace r1::kernels::fit {

// Groups whose largest magnitude is below this are quantized to all zeros.
inline constexpr float kGroupMaxEps = 1e-15f;

// Asymmetric fit x ~ scale * L + min, L in [0, nmax], min <= 0, minimising the weighted
// error sum w |err| (use_mad) or sum w err^2: the plain range fit, then nstep + 1
// candidate inverse scales (nmax + rmin + rdelta k) / (max - min), each followed by a
// weighted least-squares solve for (scale, min). Returns scale; *neg_min = -min.
// ggml: make_qkx2_quants; with weights given and use_mad false it is also make_qkx3_quants.
// n <= 32.
float scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min, float rmin, float rdelta,
                int nstep, bool use_mad);

// Symmetric fit x ~ scale * l, l in [-nmax, nmax - 1], weights qw (or x^2 when qw is
// null): the range fit and 18 nearby inverse scales -(nmax + 0.1 k) / max, each scored by
// its least-squares scale. L receives l + nmax. ggml: make_qx_quants(rmse_type = 1).
float symmetric(int n, int nmax, const float* x, const float* qw, int8_t* L);

// Symmetric 3-bit style fit (weights x^2) refined by up to 5 passes of per-element
// coordinate descent. L receives l + nmax. ggml: make_q3_quants(do_rmse = true).
float symmetric_refined(int n, int nmax, const float* x, int8_t* L);

// Fit of non-negative values x ~ scale * L, L in [0, nmax], weights qw: 9 candidate
// inverse scales, then up to 5 coordinate-descent passes. Used to quantize the sub-block
// scales of the imatrix-weighted k-quants. ggml: make_qp_quants.
float positive(int n, int nmax, const float* x, uint8_t* L, const float* qw);

}  // namespace r1::kernels::fit
