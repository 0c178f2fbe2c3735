// Weight quantization as llama-quantize does it: the public entry point of the kernels
// layer for writing quantized model files.
//
// Contract: quantize_rows(type, src, dst, nrows, n_per_row, imatrix) writes exactly what
// llama.cpp's ggml_quantize_chunk(type, src, dst, 0, nrows, n_per_row, imatrix) writes
// (bit for bit; llama.cpp release v0.4.0, the build node-llama-cpp 3.21.1 ships) and
// returns the byte count (nrows * row_bytes(type, n_per_row)). `imatrix` is null or
// n_per_row importance weights (one per column, shared by all rows); it changes the
// result of Q4_0..Q5_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS and the low-bit i-quants and is ignored
// by Q8_0 / F16 / BF16 / F32. Rows are independent: quantizing rows one at a time or
// all at once gives the same bytes, so callers may split the rows over threads.
//
// Preconditions (asserted, not checked: callers validate user input first):
// quantize_supported(type), n_per_row a multiple of the block size, and an imatrix for
// the types quantize_requires_imatrix names.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/types.hpp"

namespace r1 {

// True for the types quantize_rows can write.
bool quantize_supported(DType type);
// The types whose quantizer needs an importance matrix (ggml_quantize_requires_imatrix:
// IQ2_XXS, IQ2_XS, IQ1_S).
bool quantize_requires_imatrix(DType type);

size_t quantize_rows(DType type, const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix);

}  // namespace r1
