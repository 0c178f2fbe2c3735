// Dispatch of quantize_rows (quantize_rows.hpp) to the per-type row quantizers, with the
// same choice ggml_quantize_chunk makes: the reference quantizer (kernels_ref.hpp) when no
// importance matrix is given, the weighted one (quantize_weighted.hpp) otherwise; Q8_0
// always its weight quantizer; IQ4_NL / IQ4_XS always their search (weights optional).
#include "kernels/quantize_rows.hpp"

#include <cassert>
#include <cstring>

#include "kernels/kernels_ref.hpp"
#include "kernels/quantize_weighted.hpp"

namespace r1 {

namespace {

struct RowQuantizer {
  DType type;
  FromFloatFn plain;               // no imatrix (whole rows at once)
  kernels::WeightedRowFn weighted;  // with an imatrix (one row at a time); also used without when plain is null
};

void copy_f32(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }
void q8_0_weight(const float* src, void* dst, int64_t n) { kernels::quantize_row_q8_0_weight(src, dst, n); }

constexpr RowQuantizer kQuantizers[] = {
    {DType::F32, copy_f32, nullptr},
    {DType::F16, kernels::from_float_f16, nullptr},
    {DType::BF16, kernels::from_float_bf16, nullptr},
    {DType::Q8_0, q8_0_weight, nullptr},
    {DType::Q4_0, kernels::from_float_q4_0, kernels::quantize_row_q4_0_weighted},
    {DType::Q4_1, kernels::from_float_q4_1, kernels::quantize_row_q4_1_weighted},
    {DType::Q5_0, kernels::from_float_q5_0, kernels::quantize_row_q5_0_weighted},
    {DType::Q5_1, kernels::from_float_q5_1, kernels::quantize_row_q5_1_weighted},
    {DType::Q2_K, kernels::from_float_q2_k, kernels::quantize_row_q2_k_weighted},
    {DType::Q3_K, kernels::from_float_q3_k, kernels::quantize_row_q3_k_weighted},
    {DType::Q4_K, kernels::from_float_q4_k, kernels::quantize_row_q4_k_weighted},
    {DType::Q5_K, kernels::from_float_q5_k, kernels::quantize_row_q5_k_weighted},
    {DType::Q6_K, kernels::from_float_q6_k, kernels::quantize_row_q6_k_weighted},
    {DType::IQ4_NL, nullptr, kernels::quantize_row_iq4_nl},
    {DType::IQ4_XS, nullptr, kernels::quantize_row_iq4_xs},
    {DType::IQ2_XXS, nullptr, kernels::quantize_row_iq2_xxs},
    {DType::IQ2_XS, nullptr, kernels::quantize_row_iq2_xs},
    {DType::IQ2_S, nullptr, kernels::quantize_row_iq2_s},
    {DType::IQ3_XXS, nullptr, kernels::quantize_row_iq3_xxs},
    {DType::IQ3_S, nullptr, kernels::quantize_row_iq3_s},
    {DType::IQ1_S, nullptr, kernels::quantize_row_iq1_s},
    {DType::IQ1_M, nullptr, kernels::quantize_row_iq1_m},
};

const RowQuantizer* find(DType type) {
  for (const auto& q : kQuantizers)
    if (q.type == type) return &q;
  return nullptr;
}

}  // namespace

bool quantize_supported(DType type) { return find(type) != nullptr; }

bool quantize_requires_imatrix(DType type) {
  return type == DType::IQ2_XXS || type == DType::IQ2_XS || type == DType::IQ1_S;
}

size_t quantize_rows(DType type, const float* src, void* dst, int64_t nrows, int64_t n_per_row, const float* imatrix) {
  const RowQuantizer* q = find(type);
  assert(q && n_per_row % dtype_block_size(type) == 0);
  assert(imatrix || !quantize_requires_imatrix(type));
  const size_t row = row_bytes(type, n_per_row);
  if (q->plain && (!imatrix || !q->weighted)) {
    q->plain(src, dst, nrows * n_per_row);
  } else {
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t r = 0; r < nrows; ++r) q->weighted(src + r * n_per_row, out + static_cast<size_t>(r) * row, n_per_row, imatrix);
  }
  return static_cast<size_t>(nrows) * row;
}

}  // namespace r1
