// Scalar dequantization and dot products of the i-quants (IQ1_S .. IQ4_XS): the
// references every SIMD variant is tested against. Layouts: blocks.hpp; codebooks:
// iq_grids.hpp. The dequantizers reproduce llama.cpp's dequantize_row_iq* bit for bit
// (same float operations in the same order); the dot products sum exact integer
// products per super-block and accumulate (d_w * d_y) * sum in float, one super-block at a
// time (IQ1_S / IQ1_M: plus their delta term, as llama.cpp's portable kernels do). The
// SIMD grid-family kernels do the same with that last multiply-add fused.
#include <cassert>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/iq_grids.hpp"
#include "kernels/kernels_ref.hpp"
#include "kernels/quant_util.hpp"

namespace r1::kernels {

namespace {

inline int grid_byte(uint64_t entry, int j) { return static_cast<int>((entry >> (8 * j)) & 0xFF); }
inline int grid_sbyte(uint64_t entry, int j) { return static_cast<int8_t>((entry >> (8 * j)) & 0xFF); }
inline float sign_of(uint8_t mask, int j) { return (mask >> j) & 1 ? -1.f : 1.f; }
inline int isign_of(uint8_t mask, int j) { return (mask >> j) & 1 ? -1 : 1; }
inline uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The fp16 super-block scale of IQ1_M, spread over the top nibbles of its scale words.
inline float iq1m_d(const BlockIq1M& b, uint16_t sc[4]) {
  std::memcpy(sc, b.scales, 8);
  const uint16_t bits = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) |
                                              (sc[3] & 0xF000));
  return half_to_float(bits);
}

constexpr float kIq1Delta = 0.125f;

}  // namespace

// ---------------------------------------------------------------- to_float

void to_float_iq2_xxs(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* b = static_cast<const BlockIq2Xxs*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t idx = load_u32(b[i].qs + 4 * ib), sw = load_u32(b[i].qs + 4 * ib + 2);
      const float db = d * (0.5f + static_cast<float>(sw >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l, y += 8) {
        const uint64_t g = T.grid2xxs[(idx >> (8 * l)) & 255];
        const uint8_t s = T.signs[(sw >> (7 * l)) & 127];
        for (int j = 0; j < 8; ++j) y[j] = db * static_cast<float>(grid_byte(g, j)) * sign_of(s, j);
      }
    }
  }
}

void to_float_iq2_xs(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* b = static_cast<const BlockIq2Xs*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {d * (0.5f + static_cast<float>(b[i].scales[ib] & 0xF)) * 0.25f,
                           d * (0.5f + static_cast<float>(b[i].scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, y += 8) {
        const uint16_t q = b[i].qs[4 * ib + l];
        const uint64_t g = T.grid2xs[q & 511];
        const uint8_t s = T.signs[q >> 9];
        for (int j = 0; j < 8; ++j) y[j] = db[l / 2] * static_cast<float>(grid_byte(g, j)) * sign_of(s, j);
      }
    }
  }
}

void to_float_iq2_s(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* b = static_cast<const BlockIq2S*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    const uint8_t* signs = b[i].qs + 32;
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {d * (0.5f + static_cast<float>(b[i].scales[ib] & 0xF)) * 0.25f,
                           d * (0.5f + static_cast<float>(b[i].scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, y += 8) {
        const int index = b[i].qs[4 * ib + l] | ((b[i].qh[ib] << (8 - 2 * l)) & 0x300);
        const uint64_t g = T.grid2s[index];
        const uint8_t s = signs[4 * ib + l];
        for (int j = 0; j < 8; ++j) y[j] = db[l / 2] * static_cast<float>(grid_byte(g, j)) * sign_of(s, j);
      }
    }
  }
}

void to_float_iq3_xxs(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* b = static_cast<const BlockIq3Xxs*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    const uint8_t* qs = b[i].qs;
    for (int ib = 0; ib < 8; ++ib, qs += 8) {
      const uint32_t sw = load_u32(b[i].qs + 64 + 4 * ib);
      const float db = d * (0.5f + static_cast<float>(sw >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l, y += 8) {
        const uint8_t s = T.signs[(sw >> (7 * l)) & 127];
        const uint32_t g1 = T.grid3xxs[qs[2 * l]], g2 = T.grid3xxs[qs[2 * l + 1]];
        for (int j = 0; j < 4; ++j) {
          y[j] = db * static_cast<float>(grid_byte(g1, j)) * sign_of(s, j);
          y[j + 4] = db * static_cast<float>(grid_byte(g2, j)) * sign_of(s, j + 4);
        }
      }
    }
  }
}

void to_float_iq3_s(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* b = static_cast<const BlockIq3S*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    for (int ib = 0; ib < 8; ++ib) {
      const int sc = (b[i].scales[ib / 2] >> (4 * (ib % 2))) & 0xF;
      const float db = d * static_cast<float>(1 + 2 * sc);
      const uint8_t* qs = b[i].qs + 8 * ib;
      const uint8_t qh = b[i].qh[ib];
      for (int l = 0; l < 4; ++l, y += 8) {
        const uint32_t g1 = T.grid3s[qs[2 * l] | ((qh << (8 - 2 * l)) & 256)];
        const uint32_t g2 = T.grid3s[qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256)];
        const uint8_t s = b[i].signs[4 * ib + l];
        for (int j = 0; j < 4; ++j) {
          y[j] = db * static_cast<float>(grid_byte(g1, j)) * sign_of(s, j);
          y[j + 4] = db * static_cast<float>(grid_byte(g2, j)) * sign_of(s, j + 4);
        }
      }
    }
  }
}

void to_float_iq1_s(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* b = static_cast<const BlockIq1S*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    for (int ib = 0; ib < 8; ++ib) {
      const uint16_t qh = b[i].qh[ib];
      const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
      const float delta = qh & 0x8000 ? -kIq1Delta : kIq1Delta;
      for (int l = 0; l < 4; ++l, y += 8) {
        const uint64_t g = T.grid1s[b[i].qs[4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
        for (int j = 0; j < 8; ++j) y[j] = dl * (static_cast<float>(grid_sbyte(g, j)) + delta);
      }
    }
  }
}

void to_float_iq1_m(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* b = static_cast<const BlockIq1M*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint16_t sc[4];
    const float d = iq1m_d(b[i], sc);
    for (int ib = 0; ib < 8; ++ib) {
      const float dl[2] = {d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1),
                           d * static_cast<float>(2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1)};
      for (int l = 0; l < 4; ++l, y += 8) {
        const uint8_t h = b[i].qh[2 * ib + l / 2] >> (4 * (l % 2));  // (3 index bits, delta sign)
        const uint64_t g = T.grid1s[b[i].qs[4 * ib + l] | ((h & 7) << 8)];
        const float delta = h & 8 ? -kIq1Delta : kIq1Delta;
        for (int j = 0; j < 8; ++j) y[j] = dl[l / 2] * (static_cast<float>(grid_sbyte(g, j)) + delta);
      }
    }
  }
}

void to_float_iq4_nl(const void* src, float* y, int64_t n) {
  assert(n % kQK == 0);
  const int8_t* kv = iq_tables().iq4nl;
  const auto* b = static_cast<const BlockIq4Nl*>(src);
  for (int64_t i = 0; i < n / kQK; ++i, y += kQK) {
    const float d = half_to_float(b[i].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * static_cast<float>(kv[b[i].qs[j] & 0xF]);
      y[j + 16] = d * static_cast<float>(kv[b[i].qs[j] >> 4]);
    }
  }
}

void to_float_iq4_xs(const void* src, float* y, int64_t n) {
  assert(n % kQK_K == 0);
  const int8_t* kv = iq_tables().iq4nl;
  const auto* b = static_cast<const BlockIq4Xs*>(src);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = half_to_float(b[i].d);
    for (int ib = 0; ib < 8; ++ib, y += 32) {
      const int ls = ((b[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b[i].scales_h >> (2 * ib)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      const uint8_t* qs = b[i].qs + 16 * ib;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * static_cast<float>(kv[qs[j] & 0xF]);
        y[j + 16] = dl * static_cast<float>(kv[qs[j] >> 4]);
      }
    }
  }
}

// ---------------------------------------------------------------- vec_dot

namespace {

// sum_j g[j] * s[j] * q8[j] over one 8-element group of an unsigned-byte grid entry.
inline int group_dot(uint64_t g, uint8_t signs, const int8_t* q8) {
  int sum = 0;
  for (int j = 0; j < 8; ++j) sum += grid_byte(g, j) * q8[j] * isign_of(signs, j);
  return sum;
}
// The same for two 4-element entries (the IQ3 grids).
inline int group_dot4(uint32_t g1, uint32_t g2, uint8_t signs, const int8_t* q8) {
  int sum = 0;
  for (int j = 0; j < 4; ++j) {
    sum += grid_byte(g1, j) * q8[j] * isign_of(signs, j);
    sum += grid_byte(g2, j) * q8[j + 4] * isign_of(signs, j + 4);
  }
  return sum;
}

}  // namespace

float vec_dot_iq2_xxs_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq2Xxs*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* q8 = yb[i].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t idx = load_u32(x[i].qs + 4 * ib), sw = load_u32(x[i].qs + 4 * ib + 2);
      int32_t sumi = 0;
      for (int l = 0; l < 4; ++l, q8 += 8)
        sumi += group_dot(T.grid2xxs[(idx >> (8 * l)) & 255], T.signs[(sw >> (7 * l)) & 127], q8);
      bsum += sumi * static_cast<int32_t>(2 * (sw >> 28) + 1);
    }
    sumf += half_to_float(x[i].d) * yb[i].d * static_cast<float>(bsum);
  }
  return 0.125f * sumf;
}

float vec_dot_iq2_xs_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq2Xs*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* q8 = yb[i].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      for (int half = 0; half < 2; ++half) {
        int32_t sumi = 0;
        for (int l = 2 * half; l < 2 * half + 2; ++l, q8 += 8) {
          const uint16_t q = x[i].qs[4 * ib + l];
          sumi += group_dot(T.grid2xs[q & 511], T.signs[q >> 9], q8);
        }
        bsum += sumi * (2 * ((x[i].scales[ib] >> (4 * half)) & 0xF) + 1);
      }
    }
    sumf += half_to_float(x[i].d) * yb[i].d * static_cast<float>(bsum);
  }
  return 0.125f * sumf;
}

float vec_dot_iq2_s_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq2S*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* q8 = yb[i].qs;
    const uint8_t* signs = x[i].qs + 32;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      for (int half = 0; half < 2; ++half) {
        int32_t sumi = 0;
        for (int l = 2 * half; l < 2 * half + 2; ++l, q8 += 8) {
          const int index = x[i].qs[4 * ib + l] | ((x[i].qh[ib] << (8 - 2 * l)) & 0x300);
          sumi += group_dot(T.grid2s[index], signs[4 * ib + l], q8);
        }
        bsum += sumi * (2 * ((x[i].scales[ib] >> (4 * half)) & 0xF) + 1);
      }
    }
    sumf += half_to_float(x[i].d) * yb[i].d * static_cast<float>(bsum);
  }
  return 0.125f * sumf;
}

float vec_dot_iq3_xxs_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq3Xxs*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* q8 = yb[i].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* qs = x[i].qs + 8 * ib;
      const uint32_t sw = load_u32(x[i].qs + 64 + 4 * ib);
      int32_t sumi = 0;
      for (int l = 0; l < 4; ++l, q8 += 8)
        sumi += group_dot4(T.grid3xxs[qs[2 * l]], T.grid3xxs[qs[2 * l + 1]], T.signs[(sw >> (7 * l)) & 127], q8);
      bsum += sumi * static_cast<int32_t>(2 * (sw >> 28) + 1);
    }
    sumf += half_to_float(x[i].d) * yb[i].d * static_cast<float>(bsum);
  }
  return 0.25f * sumf;
}

float vec_dot_iq3_s_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq3S*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* q8 = yb[i].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* qs = x[i].qs + 8 * ib;
      const uint8_t qh = x[i].qh[ib];
      int32_t sumi = 0;
      for (int l = 0; l < 4; ++l, q8 += 8)
        sumi += group_dot4(T.grid3s[qs[2 * l] | ((qh << (8 - 2 * l)) & 256)],
                           T.grid3s[qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256)], x[i].signs[4 * ib + l], q8);
      bsum += sumi * (2 * ((x[i].scales[ib / 2] >> (4 * (ib % 2))) & 0xF) + 1);
    }
    sumf += half_to_float(x[i].d) * yb[i].d * static_cast<float>(bsum);
  }
  return sumf;
}

float vec_dot_iq1_s_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq1S*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const int8_t* q8 = yb[i].qs;
    int32_t sumi = 0, sumi_delta = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint16_t qh = x[i].qh[ib];
      const int ls = 2 * ((qh >> 12) & 7) + 1;
      int32_t lsum = 0;
      for (int l = 0; l < 4; ++l, q8 += 8) {
        const uint64_t g = T.grid1s[x[i].qs[4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)];
        for (int j = 0; j < 8; ++j) lsum += grid_sbyte(g, j) * q8[j];
      }
      sumi += ls * lsum;
      sumi_delta += ls * (qh & 0x8000 ? -1 : 1) * (yb[i].bsums[2 * ib] + yb[i].bsums[2 * ib + 1]);
    }
    sumf += half_to_float(x[i].d) * yb[i].d * (static_cast<float>(sumi) + kIq1Delta * static_cast<float>(sumi_delta));
  }
  return sumf;
}

float vec_dot_iq1_m_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const IqTables& T = iq_tables();
  const auto* x = static_cast<const BlockIq1M*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint16_t sc[4];
    const float d = iq1m_d(x[i], sc);
    const int8_t* q8 = yb[i].qs;
    int32_t sumi = 0, sumi_delta = 0;
    for (int ib = 0; ib < 8; ++ib) {
      int32_t grid_sum[2] = {0, 0}, delta_sum[2] = {0, 0};
      for (int l = 0; l < 4; ++l, q8 += 8) {
        const uint8_t h = x[i].qh[2 * ib + l / 2] >> (4 * (l % 2));
        const uint64_t g = T.grid1s[x[i].qs[4 * ib + l] | ((h & 7) << 8)];
        int32_t gs = 0, qs = 0;
        for (int j = 0; j < 8; ++j) {
          gs += grid_sbyte(g, j) * q8[j];
          qs += q8[j];
        }
        grid_sum[l / 2] += gs;
        delta_sum[l / 2] += h & 8 ? -qs : qs;
      }
      const int ls1 = 2 * ((sc[ib / 2] >> (6 * (ib % 2))) & 7) + 1;
      const int ls2 = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 7) + 1;
      sumi += grid_sum[0] * ls1 + grid_sum[1] * ls2;
      sumi_delta += delta_sum[0] * ls1 + delta_sum[1] * ls2;
    }
    sumf += d * yb[i].d * (static_cast<float>(sumi) + kIq1Delta * static_cast<float>(sumi_delta));
  }
  return sumf;
}

float vec_dot_iq4_nl_q8_0(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const int8_t* kv = iq_tables().iq4nl;
  const auto* x = static_cast<const BlockIq4Nl*>(vx);
  const auto* yb = static_cast<const BlockQ8_0*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int32_t sumi = 0;
    for (int j = 0; j < 16; ++j)
      sumi += yb[i].qs[j] * kv[x[i].qs[j] & 0xF] + yb[i].qs[j + 16] * kv[x[i].qs[j] >> 4];
    sumf += half_to_float(yb[i].d) * half_to_float(x[i].d) * static_cast<float>(sumi);
  }
  return sumf;
}

float vec_dot_iq4_xs_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const int8_t* kv = iq_tables().iq4nl;
  const auto* x = static_cast<const BlockIq4Xs*>(vx);
  const auto* yb = static_cast<const BlockQ8_K*>(vy);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((x[i].scales_h >> (2 * ib)) & 3) << 4);
      const uint8_t* qs = x[i].qs + 16 * ib;
      const int8_t* q8 = yb[i].qs + 32 * ib;
      int32_t sumi = 0;
      for (int j = 0; j < 16; ++j) sumi += q8[j] * kv[qs[j] & 0xF] + q8[j + 16] * kv[qs[j] >> 4];
      bsum += (ls - 32) * sumi;
    }
    sumf += half_to_float(x[i].d) * yb[i].d * static_cast<float>(bsum);
  }
  return sumf;
}

}  // namespace r1::kernels
