// Decoded rows of the grid i-quants, shared by the AVX2 and AVX-512 multi-token kernels
// (internal to the kernels layer; see vec_dot_iq_avx2.cpp, gemm_iq_avx512.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

namespace r1::kernels {

// AVX2 tiles: one entry per 64 weights (two 32-weight sub-blocks) of one row: the signed
// weight values, their absolute values and the int16 scale of each of their 32 int16 pair
// sums (one scale per 16 weights).
struct alignas(64) IqPair {
  int8_t w[64];
  int8_t aw[64];
  int16_t ls[32];
};
static_assert(sizeof(IqPair) == 192);

// AVX-512 panel: 16 rows decoded together, rows in the lanes. Per super-block i:
//   u[i][g][row]   4 weights 4g..4g+3 of the row as bytes w + 128 (unsigned), one uint32
//   ls[i][s][row]  the integer scale of weights 16s..16s+15 of the row
//   d[i][row]      the row's super-block scale (fp32)
// Rows past the matrix are zero weights (u = 128) with zero scales.
constexpr int kIqPanelRows = 16;
struct IqPanel {
  uint32_t* u;  // nb * 64 * 16
  int32_t* ls;  // nb * 16 * 16
  float* d;     // nb * 16
};

// y[t * ldy + r + q] for q < n_rows (<= 16), t < n_tokens: final * sum_i fma(d_w * d_y,
// (float) sum_j w_j q8_j ls_j, acc), super-block by super-block: llama.cpp's IQ panel order,
// the same float operations as the AVX2 tiles (bit-identical). The integer sums use vpdpbusd on w + 128 with the Q8_K
// block sums correcting the offset. AVX-512 F/BW/VL/VNNI: call only when avx512_active().
void iq_grid_panel_avx512(const IqPanel& panel, int n_rows, int64_t nb, float final, const uint8_t* act,
                          size_t act_stride, int64_t n_tokens, float* y, int64_t ldy, int64_t r);

}  // namespace r1::kernels
