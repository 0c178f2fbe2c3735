// Row quantizers of llama-quantize that have no reference (from_float) counterpart in
// kernels_ref.hpp: the importance-weighted variants and the other weight-only
// quantizers (internal to the kernels layer; quantize_rows.hpp is the public entry).
//
// Each quantizes one row of n elements (a multiple of the block size) from x into dst,
// bit-identical with the ggml function named beside it. qw: n importance weights, one per
// column; "qw required" ones assert it is given, the others accept null as ggml does.
#pragma once
#include <cstdint>

namespace r1::kernels {

using WeightedRowFn = void (*)(const float* x, void* dst, int64_t n, const float* qw);

// quantize_imatrix.cpp (qw required)
void quantize_row_q4_0_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q4_0_impl
void quantize_row_q4_1_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q4_1_impl
void quantize_row_q5_0_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q5_0_impl
void quantize_row_q5_1_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q5_1_impl
void quantize_row_q2_k_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q2_K_impl
void quantize_row_q3_k_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q3_K_impl
void quantize_row_q4_k_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q4_K_impl
void quantize_row_q5_k_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q5_K_impl
void quantize_row_q6_k_weighted(const float* x, void* dst, int64_t n, const float* qw);  // quantize_row_q6_K_impl
// Q8_0 as a stored weight (quantize_row_q8_0_ref: round half away from zero; the
// activation quantizer from_float_q8_0 rounds half to even).
void quantize_row_q8_0_weight(const float* x, void* dst, int64_t n);

// quantize_iq4.cpp (qw may be null)
void quantize_row_iq4_nl(const float* x, void* dst, int64_t n, const float* qw);  // quantize_iq4_nl
void quantize_row_iq4_xs(const float* x, void* dst, int64_t n, const float* qw);  // quantize_iq4_xs

// quantize_iq2.cpp (qw required)
void quantize_row_iq2_xxs(const float* x, void* dst, int64_t n, const float* qw);  // quantize_iq2_xxs
void quantize_row_iq2_xs(const float* x, void* dst, int64_t n, const float* qw);   // quantize_iq2_xs
// quantize_iq2.cpp (qw may be null)
void quantize_row_iq2_s(const float* x, void* dst, int64_t n, const float* qw);    // quantize_iq2_s
// quantize_iq1.cpp (qw required)
void quantize_row_iq1_s(const float* x, void* dst, int64_t n, const float* qw);    // quantize_iq1_s
// quantize_iq1.cpp (qw may be null)
void quantize_row_iq1_m(const float* x, void* dst, int64_t n, const float* qw);    // quantize_iq1_m
// quantize_iq3.cpp (qw may be null)
void quantize_row_iq3_xxs(const float* x, void* dst, int64_t n, const float* qw);  // quantize_iq3_xxs
void quantize_row_iq3_s(const float* x, void* dst, int64_t n, const float* qw);    // quantize_iq3_s

}  // namespace r1::kernels
