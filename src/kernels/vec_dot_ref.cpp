// Scalar reference dot products: one weight row against one activation row in the
// weight type's vec_dot_type. Integer parts are computed exactly per (sub-)block and
// scaled in float, the same math llama.cpp's kernels do (up to float summation order).
#include <cassert>
#include <cstring>

#include "kernels/blocks.hpp"
#include "kernels/kernels_ref.hpp"
#include "kernels/quant_util.hpp"

namespace r1::kernels {

namespace {
int nibble(const uint8_t* qs, int j) { return j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4); }
int bit5(const uint8_t* qh, int j) {
  uint32_t h;
  std::memcpy(&h, qh, 4);
  return static_cast<int>((h >> j) & 1) << 4;
}
}  // namespace

float vec_dot_f32(int64_t n, const void* x, const void* y) {
  const auto* a = static_cast<const float*>(x);
  const auto* b = static_cast<const float*>(y);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

float vec_dot_f16(int64_t n, const void* x, const void* y) {
  const auto* a = static_cast<const uint16_t*>(x);
  const auto* b = static_cast<const uint16_t*>(y);
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(half_to_float(a[i])) * half_to_float(b[i]);
  return static_cast<float>(s);
}

float vec_dot_bf16(int64_t n, const void* x, const void* y) {
  const auto* a = static_cast<const uint16_t*>(x);
  const auto* b = static_cast<const uint16_t*>(y);
  double s = 0;
  for (int64_t i = 0; i < n; ++i)
    s += static_cast<double>(bits_to_float(uint32_t{a[i]} << 16)) * bits_to_float(uint32_t{b[i]} << 16);
  return static_cast<float>(s);
}

// ---------------------------------------------------------------- legacy blocks

float vec_dot_q4_0_q8_0(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ4_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += (nibble(x[i].qs, j) - 8) * y[i].qs[j];
    sum += static_cast<float>(isum) * (half_to_float(x[i].d) * half_to_float(y[i].d));
  }
  return sum;
}

// sum_j (d_x q_j + m_x) d_y p_j = d_x d_y sum q_j p_j + m_x * (d_y sum p_j), the last
// factor being the precomputed s of the Q8_1 block.
float vec_dot_q4_1_q8_1(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ4_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += nibble(x[i].qs, j) * y[i].qs[j];
    sum += static_cast<float>(isum) * (half_to_float(x[i].d) * half_to_float(y[i].d)) +
           half_to_float(x[i].m) * half_to_float(y[i].s);
  }
  return sum;
}

float vec_dot_q5_0_q8_0(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ5_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += ((nibble(x[i].qs, j) | bit5(x[i].qh, j)) - 16) * y[i].qs[j];
    sum += static_cast<float>(isum) * (half_to_float(x[i].d) * half_to_float(y[i].d));
  }
  return sum;
}

float vec_dot_q5_1_q8_1(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ5_1*>(vx);
  const auto* y = static_cast<const BlockQ8_1*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += (nibble(x[i].qs, j) | bit5(x[i].qh, j)) * y[i].qs[j];
    sum += static_cast<float>(isum) * (half_to_float(x[i].d) * half_to_float(y[i].d)) +
           half_to_float(x[i].m) * half_to_float(y[i].s);
  }
  return sum;
}

float vec_dot_q8_0_q8_0(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK == 0);
  const auto* x = static_cast<const BlockQ8_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += x[i].qs[j] * y[i].qs[j];
    sum += static_cast<float>(isum) * (half_to_float(x[i].d) * half_to_float(y[i].d));
  }
  return sum;
}

// ---------------------------------------------------------------- k-quants . Q8_K
// Pattern: per super-block, isum = sum over sub-blocks of scale * (q . p) (exact int),
// mins enter through the precomputed group sums (bsums) of the activation block.

float vec_dot_q2_k_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ2_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0, msum = 0;
    for (int g = 0; g < 16; ++g) {
      int dot = 0;
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * g + l, h = e / 128, s = (e / 32) % 4;
        dot += ((x[i].qs[32 * h + e % 32] >> (2 * s)) & 3) * y[i].qs[e];
      }
      isum += (x[i].scales[g] & 0xF) * dot;
      msum += (x[i].scales[g] >> 4) * y[i].bsums[g];
    }
    sum += y[i].d * half_to_float(x[i].d) * static_cast<float>(isum) -
           y[i].d * half_to_float(x[i].dmin) * static_cast<float>(msum);
  }
  return sum;
}

float vec_dot_q3_k_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ3_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0;
    for (int g = 0; g < 16; ++g) {
      int dot = 0;
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * g + l, h = e / 128, s = (e / 32) % 4;
        const int low = (x[i].qs[32 * h + e % 32] >> (2 * s)) & 3;
        const int high = (x[i].hmask[e % 32] >> (e / 32)) & 1;
        dot += ((low | high << 2) - 4) * y[i].qs[e];
      }
      isum += q3k_scale(x[i].scales, g) * dot;
    }
    sum += half_to_float(x[i].d) * y[i].d * static_cast<float>(isum);
  }
  return sum;
}

float vec_dot_q4_k_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ4_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0, msum = 0;
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      unpack_scale_min_k4(sb, x[i].scales, &sc, &m);
      const uint8_t* q = x[i].qs + 32 * (sb / 2);
      const int shift = 4 * (sb % 2);
      int dot = 0;
      for (int l = 0; l < 32; ++l) dot += ((q[l] >> shift) & 0xF) * y[i].qs[32 * sb + l];
      isum += sc * dot;
      msum += m * (y[i].bsums[2 * sb] + y[i].bsums[2 * sb + 1]);
    }
    sum += half_to_float(x[i].d) * y[i].d * static_cast<float>(isum) -
           half_to_float(x[i].dmin) * y[i].d * static_cast<float>(msum);
  }
  return sum;
}

float vec_dot_q5_k_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ5_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0, msum = 0;
    for (int sb = 0; sb < 8; ++sb) {
      uint8_t sc, m;
      unpack_scale_min_k4(sb, x[i].scales, &sc, &m);
      const uint8_t* q = x[i].qs + 32 * (sb / 2);
      const int shift = 4 * (sb % 2);
      int dot = 0;
      for (int l = 0; l < 32; ++l) {
        const int v = ((q[l] >> shift) & 0xF) | ((x[i].qh[l] >> sb) & 1) << 4;
        dot += v * y[i].qs[32 * sb + l];
      }
      isum += sc * dot;
      msum += m * (y[i].bsums[2 * sb] + y[i].bsums[2 * sb + 1]);
    }
    sum += half_to_float(x[i].d) * y[i].d * static_cast<float>(isum) -
           half_to_float(x[i].dmin) * y[i].d * static_cast<float>(msum);
  }
  return sum;
}

float vec_dot_q6_k_q8_k(int64_t n, const void* vx, const void* vy) {
  assert(n % kQK_K == 0);
  const auto* x = static_cast<const BlockQ6_K*>(vx);
  const auto* y = static_cast<const BlockQ8_K*>(vy);
  float sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0;
    for (int g = 0; g < 16; ++g) {
      int dot = 0;
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * g + l, h = e / 128, s = (e / 32) % 4, k = e % 32;
        const int low = (x[i].ql[64 * h + 32 * (s & 1) + k] >> (4 * (s / 2))) & 0xF;
        const int high = (x[i].qh[32 * h + k] >> (2 * s)) & 3;
        dot += ((low | high << 4) - 32) * y[i].qs[e];
      }
      isum += x[i].scales[g] * dot;
    }
    sum += half_to_float(x[i].d) * y[i].d * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace r1::kernels
