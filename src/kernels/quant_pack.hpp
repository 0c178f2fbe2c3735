// Bit packing of chosen levels into the k-quant block layouts (blocks.hpp), shared by the
// reference quantizers (quantize_k.cpp) and the importance-weighted ones
// (quantize_imatrix.cpp). Internal linkage on purpose, as quant_util.hpp explains.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/quant_util.hpp"
#include "kernels/types.hpp"

namespace r1::kernels {
namespace {

// Packs 256 2-bit values (low bits of L) in the Q2_K / Q3_K order.
inline void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const uint8_t* p = L + 128 * h + l;
      qs[32 * h + l] = static_cast<uint8_t>((p[0] & 3) | (p[32] & 3) << 2 | (p[64] & 3) << 4 | (p[96] & 3) << 6);
    }
}

// Writes 6-bit scale/min pairs for 8 sub-blocks in the Q4_K / Q5_K layout.
inline void pack_scale_min_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = ls[j];
      s[j + 4] = lm[j];
    } else {
      s[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | (lm[j] & 0xF) << 4);
      s[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

// Writes the 16 6-bit sub-block scale codes (0..63, i.e. scale + 32) of a Q3_K block.
inline void pack_q3_k_scales(const int* codes, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 16; ++j) {
    const int l = codes[j];
    if (j < 8) s[j] = static_cast<uint8_t>(l & 0xF);
    else s[j - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
    s[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
  }
}

// Levels 0..7 of a Q3_K block: bit 2 to hmask (element e: byte e % 32, bit e / 32), bits
// 0..1 to qs.
inline void pack_q3_k_levels(const int8_t* L, BlockQ3_K* b) {
  std::memset(b->hmask, 0, 32);
  uint8_t low[kQK_K];
  for (int e = 0; e < kQK_K; ++e) {
    if (L[e] > 3) b->hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
    low[e] = static_cast<uint8_t>(L[e] & 3);
  }
  pack_2bit(low, b->qs);
}

// Levels 0..15 of a Q4_K block.
inline void pack_q4_k_levels(const uint8_t* L, BlockQ4_K* b) {
  for (int p = 0; p < 4; ++p)
    for (int l = 0; l < 32; ++l) b->qs[32 * p + l] = static_cast<uint8_t>(L[64 * p + l] | L[64 * p + 32 + l] << 4);
}

// Levels 0..31 of a Q5_K block: low nibbles to qs, bit 4 to qh.
inline void pack_q5_k_levels(const uint8_t* L, BlockQ5_K* b) {
  std::memset(b->qh, 0, 32);
  for (int p = 0; p < 4; ++p)
    for (int l = 0; l < 32; ++l) {
      const int lo = L[64 * p + l], hi = L[64 * p + 32 + l];
      b->qs[32 * p + l] = static_cast<uint8_t>((lo & 0xF) | (hi & 0xF) << 4);
      b->qh[l] |= static_cast<uint8_t>((lo >> 4) << (2 * p) | (hi >> 4) << (2 * p + 1));
    }
}

// Levels 0..63 of a Q6_K block: low nibble into ql, top 2 bits into qh.
inline void pack_q6_k_levels(const int8_t* L, BlockQ6_K* b) {
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const int8_t* p = L + 128 * h + l;
      b->ql[64 * h + l] = static_cast<uint8_t>((p[0] & 0xF) | (p[64] & 0xF) << 4);
      b->ql[64 * h + 32 + l] = static_cast<uint8_t>((p[32] & 0xF) | (p[96] & 0xF) << 4);
      b->qh[32 * h + l] = static_cast<uint8_t>((p[0] >> 4) | (p[32] >> 4) << 2 | (p[64] >> 4) << 4 | (p[96] >> 4) << 6);
    }
}

// Re-quantizes x against the scales a Q3_K block stores (d and the 16 codes in b) and
// packs the levels: the last step of both Q3_K quantizers.
inline void finish_q3_k(const float* x, int8_t* L, BlockQ3_K* b) {
  const float d = half_to_float(b->d);
  for (int j = 0; j < 16; ++j) {
    const float ds = d * static_cast<float>(q3k_scale(b->scales, j));
    if (ds == 0.f) continue;
    for (int l = 0; l < 16; ++l)
      L[16 * j + l] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + l] / ds), -4, 3) + 4);
  }
  pack_q3_k_levels(L, b);
}

// Same for Q6_K (d and the 16 signed scales already in b).
inline void finish_q6_k(const float* x, int8_t* L, BlockQ6_K* b) {
  const float d = half_to_float(b->d);
  for (int j = 0; j < 16; ++j) {
    const float ds = d * static_cast<float>(b->scales[j]);
    if (ds == 0.f) continue;
    for (int l = 0; l < 16; ++l)
      L[16 * j + l] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * j + l] / ds), -32, 31) + 32);
  }
  pack_q6_k_levels(L, b);
}

// The rest of a Q6_K block once the 16 sub-block scales sc are fitted (L holding their
// levels): the 8-bit scale codes against d = max_scale / -128, then finish_q6_k. A block
// whose scales are all (nearly) zero is stored as zeros.
inline void q6_k_from_scales(const float* x, const float* sc, int8_t* L, BlockQ6_K* b) {
  float max_scale = 0, max_abs = 0;
  for (int j = 0; j < 16; ++j)
    if (std::fabs(sc[j]) > max_abs) {
      max_abs = std::fabs(sc[j]);
      max_scale = sc[j];
    }
  if (max_abs < 1e-15f) {  // ggml's GROUP_MAX_EPS
    std::memset(b, 0, sizeof(BlockQ6_K));
    return;
  }
  const float iscale = -128.f / max_scale;
  b->d = fp32_to_fp16(1 / iscale);
  // |iscale * sc| <= 128, so only the upper clamp can bite (ggml clamps only that one)
  for (int j = 0; j < 16; ++j) b->scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * sc[j])));
  finish_q6_k(x, L, b);
}

// Re-quantizes the 8 sub-blocks of 32 of a Q4_K / Q5_K block (levels 0..nmax) against the
// stored d, dmin and 6-bit scale/min codes; sub-blocks whose scale is 0 keep their L.
inline void requantize_k4(const float* x, int nmax, uint16_t d16, uint16_t dmin16, const uint8_t* scales, uint8_t* L) {
  const float d = half_to_float(d16), dmin = half_to_float(dmin16);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, scales, &sc, &m);
    const float ds = d * static_cast<float>(sc);
    if (ds == 0.f) continue;
    const float dm = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / ds), 0, nmax));
  }
}

}  // namespace
}  // namespace r1::kernels
