// Block layouts of the quantized types, bit-compatible with ggml (ggml-common.h).
// Internal to the kernels layer. Half-precision fields are raw IEEE binary16 bits.
// A "row" of n elements of a block type is n / block_size blocks laid end to end.
//
// Element order inside each block (what to_float produces) is documented per type;
// the dequantizers in quants_legacy.cpp / quants_k.cpp are the executable definition.
#pragma once
#include <cstdint>

namespace r1::kernels {

constexpr int kQK = 32;    // elements per block of the legacy types
constexpr int kQK_K = 256;  // elements per super-block of the k-quants

// x[j] = d * ((qs[j % 16] >> (4 * (j / 16))) & 15) - 8)
struct BlockQ4_0 {
  uint16_t d;       // scale (fp16)
  uint8_t qs[16];   // (16) element j in the low nibble, element j + 16 in the high nibble
};
// x[j] = d * nibble(j) + m
struct BlockQ4_1 {
  uint16_t d;       // scale (fp16)
  uint16_t m;       // minimum (fp16)
  uint8_t qs[16];   // as BlockQ4_0
};
// x[j] = d * ((nibble(j) | bit(qh, j) << 4) - 16)
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];    // little-endian 32-bit mask: bit j is bit 4 of element j
  uint8_t qs[16];
};
// x[j] = d * (nibble(j) | bit(qh, j) << 4) + m
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
// x[j] = d * qs[j]
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
// x[j] = d * qs[j];  s = d * sum(qs) (fp16), used by the Q4_1/Q5_1 dot products
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[32];
};

// 16 sub-blocks of 16. Element e = 128*h + 32*s + l (h < 2, s < 4, l < 32):
// q = (qs[32*h + l] >> 2*s) & 3; x = d * (scales[e/16] & 15) * q - dmin * (scales[e/16] >> 4)
struct BlockQ2_K {
  uint8_t scales[16];  // (16) low nibble: scale, high nibble: min, per sub-block
  uint8_t qs[64];      // (2 halves, 32) four 2-bit quants per byte
  uint16_t d;          // super-block scale for the scales
  uint16_t dmin;       // super-block scale for the mins
};
// 16 sub-blocks of 16. Low 2 bits as in Q2_K; the third bit of element e is bit e/32
// of hmask[e % 32]; q = low | hbit << 2, value q - 4. Scale of sub-block j is a 6-bit
// value minus 32: low 4 bits in scales[j % 8] (nibble j / 8), high 2 bits in
// scales[8 + j % 4] at bit 2 * (j / 4).   x = d * (sc - 32) * (q - 4)
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
// 8 sub-blocks of 32 with 6-bit scale and min (see unpack_scale_min_k4).
// Element e = 64*p + 32*h + l: q = (qs[32*p + l] >> 4*h) & 15, sub-block 2p + h.
// x = d * sc * q - dmin * m
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
// As Q4_K plus a fifth bit: bit (2p + h) of qh[l].
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
// 16 sub-blocks of 16 with signed 8-bit scales. Element e = 128*h + 32*s + l:
// low 4 bits: ql[64*h + 32*(s & 1) + l] nibble s / 2; high 2 bits: (qh[32*h + l] >> 2*s) & 3.
// x = d * scales[e / 16] * (q - 32)
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
// Activation format of the k-quant dot products. x[j] = d * qs[j].
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // sum of qs over each group of 16
};


// ---------------------------------------------------------------- i-quants
// Codebook types: groups of 8 (or 4) elements are one entry of a fixed grid
// (iq_grids.hpp) with a sign pattern; scales are per 32 (or 16) elements. The
// dequantizers in quants_iq.cpp are the executable definition; the comments give the
// value of element e (g = grid entry element, s = sign, +-1).

// 2.06 bpw. Per 32 elements (ib): qs[4ib..4ib+1] = 4 grid indices (bytes), qs[4ib+2..3]
// = u32 w: sign index l = (w >> 7l) & 127, scale w >> 28. x = d * (2*sc+1) / 8 * g * s.
struct BlockIq2Xxs {
  uint16_t d;
  uint16_t qs[32];
};
// 2.31 bpw. qs[i] = 9-bit grid index | 7-bit sign index << 9 for elements 8i..8i+7;
// scales[ib] nibbles: low for the first 16 of the 32, high for the second.
struct BlockIq2Xs {
  uint16_t d;
  uint16_t qs[32];
  uint8_t scales[8];
};
// 2.56 bpw. qs[0..31] low grid bytes, qs[32..63] sign bytes (one per 8 elements); qh[ib]
// two high index bits per group of 8; scales as IQ2_XS.
struct BlockIq2S {
  uint16_t d;
  uint8_t qs[64];
  uint8_t qh[8];
  uint8_t scales[8];
};
// 3.06 bpw. qs[0..63] grid indices (4 elements each); qs[64..95] = 8 u32 words, as in
// IQ2_XXS: 4 sign indices and a scale per 32 elements. x = d * (2*sc+1) / 4 * g * s.
struct BlockIq3Xxs {
  uint16_t d;
  uint8_t qs[96];
};
// 3.44 bpw. qs low index bytes (4 elements each), qh one high bit per index, signs one
// byte per 8 elements, scales[i] nibbles for 32-element halves of 64. x = d*(2*sc+1)*g*s.
struct BlockIq3S {
  uint16_t d;
  uint8_t qs[64];
  uint8_t qh[8];
  uint8_t signs[32];
  uint8_t scales[4];
};
// 1.56 bpw. Per 32 elements: qs[4ib+l] low index bytes, qh[ib] = 4 x 3 high index bits,
// 3-bit scale (bits 12..14), delta sign (bit 15). x = d * (2*sc+1) * (g +- 1/8).
struct BlockIq1S {
  uint16_t d;
  uint8_t qs[32];
  uint16_t qh[8];
};
// 1.75 bpw. qs low index bytes; qh[2ib+h] = two (3 high bits, delta sign) nibbles; scales:
// 3-bit scales per 16 elements in 4 u16 words whose top nibbles hold the fp16 d.
struct BlockIq1M {
  uint8_t qs[32];
  uint8_t qh[16];
  uint8_t scales[8];
};
// 4.5 bpw, 32 elements. x[j] = d * kIq4nl[(qs[j % 16] >> (4 * (j / 16))) & 15].
struct BlockIq4Nl {
  uint16_t d;
  uint8_t qs[16];
};
// 4.25 bpw. As IQ4_NL per 32 elements with a 6-bit scale ls (low nibble in scales_l, two
// high bits in scales_h): x = d * (ls - 32) * kIq4nl[q].
struct BlockIq4Xs {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[4];
  uint8_t qs[128];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);
static_assert(sizeof(BlockIq2Xxs) == 66 && sizeof(BlockIq2Xs) == 74 && sizeof(BlockIq2S) == 82);
static_assert(sizeof(BlockIq3Xxs) == 98 && sizeof(BlockIq3S) == 110);
static_assert(sizeof(BlockIq1S) == 50 && sizeof(BlockIq1M) == 56);
static_assert(sizeof(BlockIq4Nl) == 18 && sizeof(BlockIq4Xs) == 136);

}  // namespace r1::kernels
