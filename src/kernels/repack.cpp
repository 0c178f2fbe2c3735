// Packed layouts: byte permutations in both directions, activation preparation, and the
// scalar reference kernels (the float order of repack.hpp, one output at a time).
#include "kernels/repack.hpp"

#include <cassert>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/dispatch.hpp"
#include "kernels/quant_util.hpp"

namespace r1::kernels {

namespace {

// Where byte `o` of row r's row-major block goes inside its group block (G rows).
// Q4_0 and Q8_0 share it (only the number of qs bytes differs: 16 or 32).
template <int G>
size_t q4_0_offset(int r, size_t o) {
  // row-major BlockQ4_0 / BlockQ8_0: d at 0..1, qs at 2..17 / 2..33
  if (o < 2) return 2 * static_cast<size_t>(r) + o;
  const size_t q = o - 2;  // qs index 0..15: k = q / 4, j = q % 4
  return 2 * G + 4 * G * (q / 4) + 4 * static_cast<size_t>(r) + q % 4;
}
template <int G>
size_t q4_k_offset(int r, size_t o) {
  // row-major BlockQ4_K: d at 0..1, dmin at 2..3, scales at 4..15, qs at 16..143
  if (o < 2) return 2 * static_cast<size_t>(r) + o;
  if (o < 4) return 2 * G + 2 * static_cast<size_t>(r) + (o - 2);
  if (o < 16) {
    const size_t s = o - 4;  // word w = s / 4
    return 4 * G + 4 * G * (s / 4) + 4 * static_cast<size_t>(r) + s % 4;
  }
  const size_t q = o - 16;  // qs index 0..127: pair p = q / 32, k = (q % 32) / 4, j = q % 4
  return 16 * G + 32 * G * (q / 32) + 4 * G * ((q % 32) / 4) + 4 * static_cast<size_t>(r) + q % 4;
}

template <int G>
size_t q6_k_offset(int r, size_t o) {
  // row-major BlockQ6_K: ql at 0..127, qh at 128..191, scales at 192..207, d at 208..209;
  // packed: d (2G bytes), scales (16 G), ql (128 G), qh (64 G)
  const size_t R = static_cast<size_t>(r);
  if (o < 128) return 18 * G + 4 * G * (o / 4) + 4 * R + o % 4;
  if (o < 192) return 146 * G + 4 * G * ((o - 128) / 4) + 4 * R + (o - 128) % 4;
  if (o < 208) return 2 * G + G * (o - 192) + R;
  return 2 * R + (o - 208);
}
// Bytes moved as one run from row-major offset o (runs never straddle two fields).
size_t run_legacy(size_t o) { return o < 2 ? 2 : 4; }  // fp16 d, then 4-byte runs of qs
size_t run_q4_k(size_t o) { return o < 4 ? 2 : 4; }    // fp16 d and dmin, then 4-byte runs
size_t run_q6_k(size_t o) { return o < 192 ? 4 : o < 208 ? 1 : 2; }

struct LayoutInfo {
  int rows;            // G
  size_t block_bytes;  // row-major bytes of one block of one row
  int64_t block_cols;
  size_t (*run)(size_t);  // run length at row-major offset o
  size_t (*offset)(int, size_t);
};
LayoutInfo info(WeightLayout layout) {
  switch (layout) {
    case WeightLayout::kQ4_0x8:
      return {8, sizeof(BlockQ4_0), kQK, run_legacy, q4_0_offset<8>};
    case WeightLayout::kQ4_Kx8:
      return {8, sizeof(BlockQ4_K), kQK_K, run_q4_k, q4_k_offset<8>};
    case WeightLayout::kQ4_0x16:
      return {16, sizeof(BlockQ4_0), kQK, run_legacy, q4_0_offset<16>};
    case WeightLayout::kQ4_Kx16:
      return {16, sizeof(BlockQ4_K), kQK_K, run_q4_k, q4_k_offset<16>};
    case WeightLayout::kQ8_0x16:
      return {16, sizeof(BlockQ8_0), kQK, run_legacy, q4_0_offset<16>};
    case WeightLayout::kQ6_Kx16:
      return {16, sizeof(BlockQ6_K), kQK_K, run_q6_k, q6_k_offset<16>};
    case WeightLayout::kRows:
      break;
  }
  assert(false && "not a packed layout");
  return {1, 0, 1, nullptr, nullptr};
}

// Moves every run of row r's block `row_block` to (kToPacked) or from its group block.
template <bool kToPacked>
void move_block(const LayoutInfo& li, int r, uint8_t* row_block, uint8_t* group_block) {
  for (size_t o = 0; o < li.block_bytes;) {
    const size_t run = li.run(o);
    uint8_t* packed = group_block + li.offset(r, o);
    if (kToPacked)
      std::memcpy(packed, row_block + o, run);
    else
      std::memcpy(row_block + o, packed, run);
    o += run;
  }
}

}  // namespace

int layout_rows(WeightLayout layout) { return layout == WeightLayout::kRows ? 1 : info(layout).rows; }

WeightLayout packed_layout_for(DType type, int64_t rows, int64_t cols) {
  if (active_isa() != Isa::kAvx2 || rows <= 0) return WeightLayout::kRows;
  const bool wide = avx512_active() && rows % 16 == 0;
  if (!wide && rows % 8 != 0) return WeightLayout::kRows;
  if (type == DType::Q4_0 && cols % kQK == 0) return wide ? WeightLayout::kQ4_0x16 : WeightLayout::kQ4_0x8;
  if (type == DType::Q4_K && cols % kQK_K == 0) return wide ? WeightLayout::kQ4_Kx16 : WeightLayout::kQ4_Kx8;
  if (type == DType::Q8_0 && cols % kQK == 0 && wide) return WeightLayout::kQ8_0x16;
  if (type == DType::Q6_K && cols % kQK_K == 0 && wide) return WeightLayout::kQ6_Kx16;
  return WeightLayout::kRows;
}

bool layout_takes_act_q8_0(WeightLayout layout) {
  return layout == WeightLayout::kQ4_0x8 || layout == WeightLayout::kQ4_0x16 || layout == WeightLayout::kQ8_0x16;
}

void pack_rows(WeightLayout layout, void* data, int64_t n_groups, int64_t cols) {
  const LayoutInfo li = info(layout);
  const int64_t nb = cols / li.block_cols;
  const size_t row_bytes = static_cast<size_t>(nb) * li.block_bytes;
  std::vector<uint8_t> tmp(li.rows * row_bytes);
  auto* base = static_cast<uint8_t*>(data);
  for (int64_t g = 0; g < n_groups; ++g) {
    uint8_t* group = base + static_cast<size_t>(g) * li.rows * row_bytes;
    std::memcpy(tmp.data(), group, tmp.size());
    for (int64_t b = 0; b < nb; ++b)
      for (int r = 0; r < li.rows; ++r)
        move_block<true>(li, r, tmp.data() + r * row_bytes + static_cast<size_t>(b) * li.block_bytes,
                         group + static_cast<size_t>(b) * li.rows * li.block_bytes);
  }
}

void unpack_rows(WeightLayout layout, void* data, int64_t n_groups, int64_t cols) {
  const LayoutInfo li = info(layout);
  const int64_t nb = cols / li.block_cols;
  const size_t row_bytes = static_cast<size_t>(nb) * li.block_bytes;
  std::vector<uint8_t> tmp(li.rows * row_bytes);
  auto* base = static_cast<uint8_t*>(data);
  for (int64_t g = 0; g < n_groups; ++g) {
    uint8_t* group = base + static_cast<size_t>(g) * li.rows * row_bytes;
    for (int r = 0; r < li.rows; ++r) packed_row(layout, group, cols, r, tmp.data() + r * row_bytes);
    std::memcpy(group, tmp.data(), tmp.size());
  }
}

void packed_row(WeightLayout layout, const void* data, int64_t cols, int64_t row, void* dst) {
  const LayoutInfo li = info(layout);
  const int64_t nb = cols / li.block_cols;
  const size_t group_block = li.rows * li.block_bytes;
  auto* group = const_cast<uint8_t*>(static_cast<const uint8_t*>(data)) + static_cast<size_t>(row / li.rows) * nb * group_block;
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < nb; ++b)
    move_block<false>(li, static_cast<int>(row % li.rows), out + static_cast<size_t>(b) * li.block_bytes,
                      group + static_cast<size_t>(b) * group_block);
}

void quantize_act_q8_0(FromFloatFn from_float, const float* x, int64_t ldx, int64_t k, int64_t n_tokens,
                       ActQ8_0* out) {
  const int64_t nb = k / kQK;
  BlockQ8_0 tmp[64];
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t b0 = 0; b0 < nb; b0 += 64) {
      const int64_t n = nb - b0 < 64 ? nb - b0 : 64;
      from_float(x + t * ldx + b0 * kQK, tmp, n * kQK);
      for (int64_t i = 0; i < n; ++i) {
        ActQ8_0& a = out[t * nb + b0 + i];
        a.d = half_to_float(tmp[i].d);
        int sum = 0;
        for (int j = 0; j < kQK; ++j) sum += tmp[i].qs[j];
        a.sum8 = 8 * sum;
        std::memcpy(a.qs, tmp[i].qs, kQK);
      }
    }
  }
}

// ---------------------------------------------------------------- references

namespace {

template <int G>
void gemm_q4_0_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride, int64_t n_tokens,
                   float* y, int64_t ldy) {
  const int64_t nb = k / kQK;
  const auto* blocks = static_cast<const BlockQ4_0xG<G>*>(w);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* a = reinterpret_cast<const ActQ8_0*>(static_cast<const uint8_t*>(act) + t * act_stride);
    for (int64_t g = 0; g < n_groups; ++g)
      for (int r = 0; r < G; ++r) {
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          const BlockQ4_0xG<G>& blk = blocks[g * nb + b];
          int sum = 0;
          for (int q = 0; q < 16; ++q) {
            const uint8_t byte = blk.qs[4 * G * (q / 4) + 4 * r + q % 4];
            sum += ((byte & 0x0F) - 8) * a[b].qs[q] + ((byte >> 4) - 8) * a[b].qs[q + 16];
          }
          acc = std::fma(static_cast<float>(sum), half_to_float(blk.d[r]) * a[b].d, acc);
        }
        y[t * ldy + G * g + r] = acc;
      }
  }
}

template <int G>
void gemm_q4_k_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride, int64_t n_tokens,
                   int64_t n_gemm, float* y, int64_t ldy) {
  const int64_t nb = k / kQK_K;
  const auto* blocks = static_cast<const BlockQ4_KxG<G>*>(w);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* a = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(act) + t * act_stride);
    const bool per_pair = t < n_gemm;
    for (int64_t g = 0; g < n_groups; ++g)
      for (int r = 0; r < G; ++r) {
        float acc = 0.0f, acc_m = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          const BlockQ4_KxG<G>& blk = blocks[g * nb + b];
          uint8_t scales[12];
          for (int s = 0; s < 12; ++s) scales[s] = blk.scales[4 * G * (s / 4) + 4 * r + s % 4];
          const float dd = half_to_float(blk.d[r]) * a[b].d;
          const float dm = half_to_float(blk.dmin[r]) * a[b].d;
          int block_i = 0, block_m = 0;
          for (int p = 0; p < 4; ++p) {
            int pair_i = 0, pair_m = 0;
            for (int half = 0; half < 2; ++half) {
              const int j = 2 * p + half;  // sub-block
              uint8_t sc, m;
              unpack_scale_min_k4(j, scales, &sc, &m);
              int dot = 0;
              for (int l = 0; l < 32; ++l) {
                const uint8_t byte = blk.qs[32 * G * p + 4 * G * (l / 4) + 4 * r + l % 4];
                const int q = half == 0 ? (byte & 0x0F) : (byte >> 4);
                dot += q * a[b].qs[64 * p + 32 * half + l];
              }
              pair_i += sc * dot;
              pair_m += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            }
            if (per_pair) {
              acc = std::fma(static_cast<float>(pair_i), dd, acc);
              acc_m = std::fma(static_cast<float>(pair_m), dm, acc_m);
            }
            block_i += pair_i;
            block_m += pair_m;
          }
          if (!per_pair) {
            acc = std::fma(static_cast<float>(block_i), dd, acc);
            acc_m = std::fma(static_cast<float>(block_m), dm, acc_m);
          }
        }
        y[t * ldy + G * g + r] = acc - acc_m;
      }
  }
}

// The references of the layouts with one float step per block (Q8_0x16, Q6_Kx16):
// acc = fma(float(I), d_w * d_a, acc), where I = int_dot(block, row, activation block) is
// the block's exact integer dot product.
template <class Block, class Act, int64_t kCols, class IntDot>
void one_step_per_block_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                            int64_t n_tokens, float* y, int64_t ldy, IntDot int_dot) {
  constexpr int G = 16;
  const int64_t nb = k / kCols;
  const auto* blocks = static_cast<const Block*>(w);
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* a = reinterpret_cast<const Act*>(static_cast<const uint8_t*>(act) + t * act_stride);
    for (int64_t g = 0; g < n_groups; ++g)
      for (int r = 0; r < G; ++r) {
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          const Block& blk = blocks[g * nb + b];
          acc = std::fma(static_cast<float>(int_dot(blk, r, a[b])), half_to_float(blk.d[r]) * a[b].d, acc);
        }
        y[t * ldy + G * g + r] = acc;
      }
  }
}

int q8_0x16_int_dot(const BlockQ8_0x16& blk, int r, const ActQ8_0& a) {
  constexpr int G = 16;
  int sum = 0;
  for (int q = 0; q < kQK; ++q) sum += blk.qs[4 * G * (q / 4) + 4 * r + q % 4] * a.qs[q];
  return sum;
}

int q6_kx16_int_dot(const BlockQ6_Kx16& blk, int r, const BlockQ8_K& a) {
  constexpr int G = 16;
  int sumi = 0;
  for (int sb = 0; sb < 16; ++sb) {  // 16-element sub-block: elements 16 sb .. 16 sb + 15
    int dot = 0;
    for (int e = 16 * sb; e < 16 * sb + 16; ++e) {
      const int n = e / 128, j = (e % 128) / 32, l = e % 32;
      const int ql_byte = 64 * n + 32 * (j % 2) + l;  // low nibble for j < 2, high for j >= 2
      const int qh_byte = 32 * n + l;
      const uint8_t lo = blk.ql[4 * G * (ql_byte / 4) + 4 * r + ql_byte % 4];
      const uint8_t hi = blk.qh[4 * G * (qh_byte / 4) + 4 * r + qh_byte % 4];
      const int q = ((j < 2 ? lo & 0x0F : lo >> 4) | (((hi >> (2 * j)) & 3) << 4)) - 32;
      dot += q * a.qs[e];
    }
    sumi += blk.scales[G * sb + r] * dot;
  }
  return sumi;
}

}  // namespace

void gemm_q6_kx16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t, float* y, int64_t ldy) {
  one_step_per_block_ref<BlockQ6_Kx16, BlockQ8_K, kQK_K>(k, w, n_groups, act, act_stride, n_tokens, y, ldy,
                                                         q6_kx16_int_dot);
}
void gemm_q8_0x16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t, float* y, int64_t ldy) {
  one_step_per_block_ref<BlockQ8_0x16, ActQ8_0, kQK>(k, w, n_groups, act, act_stride, n_tokens, y, ldy,
                                                     q8_0x16_int_dot);
}
void gemm_q4_0x8_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                     int64_t n_tokens, int64_t, float* y, int64_t ldy) {
  gemm_q4_0_ref<8>(k, w, n_groups, act, act_stride, n_tokens, y, ldy);
}
void gemm_q4_0x16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t, float* y, int64_t ldy) {
  gemm_q4_0_ref<16>(k, w, n_groups, act, act_stride, n_tokens, y, ldy);
}
void gemm_q4_kx8_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                     int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy) {
  gemm_q4_k_ref<8>(k, w, n_groups, act, act_stride, n_tokens, n_gemm, y, ldy);
}
void gemm_q4_kx16_ref(int64_t k, const void* w, int64_t n_groups, const void* act, size_t act_stride,
                      int64_t n_tokens, int64_t n_gemm, float* y, int64_t ldy) {
  gemm_q4_k_ref<16>(k, w, n_groups, act, act_stride, n_tokens, n_gemm, y, ldy);
}

PackedGemmFn packed_gemm_reference(WeightLayout layout) {
  switch (layout) {
    case WeightLayout::kQ4_0x8:
      return gemm_q4_0x8_ref;
    case WeightLayout::kQ4_Kx8:
      return gemm_q4_kx8_ref;
    case WeightLayout::kQ4_0x16:
      return gemm_q4_0x16_ref;
    case WeightLayout::kQ4_Kx16:
      return gemm_q4_kx16_ref;
    case WeightLayout::kQ8_0x16:
      return gemm_q8_0x16_ref;
    case WeightLayout::kQ6_Kx16:
      return gemm_q6_kx16_ref;
    case WeightLayout::kRows:
      break;
  }
  return nullptr;
}

PackedGemmFn packed_gemm(WeightLayout layout) {
  const bool avx2 = active_isa() == Isa::kAvx2, avx512 = avx512_active();
  switch (layout) {
    case WeightLayout::kQ4_0x8:
      return avx2 ? gemm_q4_0x8_avx2 : gemm_q4_0x8_ref;
    case WeightLayout::kQ4_Kx8:
      return avx2 ? gemm_q4_kx8_avx2 : gemm_q4_kx8_ref;
    case WeightLayout::kQ4_0x16:
      return avx512 ? gemm_q4_0x16_avx512 : gemm_q4_0x16_ref;
    case WeightLayout::kQ4_Kx16:
      return avx512 ? gemm_q4_kx16_avx512 : gemm_q4_kx16_ref;
    case WeightLayout::kQ8_0x16:
      return avx512 ? gemm_q8_0x16_avx512 : gemm_q8_0x16_ref;
    case WeightLayout::kQ6_Kx16:
      return avx512 ? gemm_q6_kx16_avx512 : gemm_q6_kx16_ref;
    case WeightLayout::kRows:
      break;
  }
  return nullptr;
}

}  // namespace r1::kernels
