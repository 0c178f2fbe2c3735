// The traits tables: one per ISA, built once, then read-only. All kernel dispatch
// happens here; callers just ask find_traits(type) for function pointers.
#include <array>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/kernels_avx2.hpp"
#include "kernels/kernels_ref.hpp"
#include "kernels/types.hpp"

namespace r1 {

namespace {

using namespace r1::kernels;

constexpr size_t kMaxType = 31;  // DType values are < 31
using Table = std::array<TypeTraits, kMaxType>;  // name == nullptr: unsupported

Table make_scalar_table() {
  // clang-format off
  const TypeTraits rows[] = {
      // type      name    block bytes quantized to_float        from_float        vec_dot_type vec_dot
      {DType::F32,  "f32",   1,   4, false, to_float_f32,  from_float_f32,  DType::F32,  vec_dot_f32},
      {DType::F16,  "f16",   1,   2, false, to_float_f16,  from_float_f16,  DType::F16,  vec_dot_f16},
      {DType::BF16, "bf16",  1,   2, false, to_float_bf16, from_float_bf16, DType::BF16, vec_dot_bf16},
      {DType::Q4_0, "q4_0", 32,  18, true,  to_float_q4_0, from_float_q4_0, DType::Q8_0, vec_dot_q4_0_q8_0},
      {DType::Q4_1, "q4_1", 32,  20, true,  to_float_q4_1, from_float_q4_1, DType::Q8_1, vec_dot_q4_1_q8_1},
      {DType::Q5_0, "q5_0", 32,  22, true,  to_float_q5_0, from_float_q5_0, DType::Q8_0, vec_dot_q5_0_q8_0},
      {DType::Q5_1, "q5_1", 32,  24, true,  to_float_q5_1, from_float_q5_1, DType::Q8_1, vec_dot_q5_1_q8_1},
      {DType::Q8_0, "q8_0", 32,  34, true,  to_float_q8_0, from_float_q8_0, DType::Q8_0, vec_dot_q8_0_q8_0},
      {DType::Q8_1, "q8_1", 32,  36, true,  to_float_q8_1, from_float_q8_1, DType::Q8_1, nullptr},
      {DType::Q2_K, "q2_k", 256, 84, true,  to_float_q2_k, from_float_q2_k, DType::Q8_K, vec_dot_q2_k_q8_k},
      {DType::Q3_K, "q3_k", 256, 110, true, to_float_q3_k, from_float_q3_k, DType::Q8_K, vec_dot_q3_k_q8_k},
      {DType::Q4_K, "q4_k", 256, 144, true, to_float_q4_k, from_float_q4_k, DType::Q8_K, vec_dot_q4_k_q8_k},
      {DType::Q5_K, "q5_k", 256, 176, true, to_float_q5_k, from_float_q5_k, DType::Q8_K, vec_dot_q5_k_q8_k},
      {DType::Q6_K, "q6_k", 256, 210, true, to_float_q6_k, from_float_q6_k, DType::Q8_K, vec_dot_q6_k_q8_k},
      {DType::Q8_K, "q8_k", 256, 292, true, to_float_q8_k, from_float_q8_k, DType::Q8_K, nullptr},
      {DType::IQ2_XXS, "iq2_xxs", 256, 66, true, to_float_iq2_xxs, nullptr, DType::Q8_K, vec_dot_iq2_xxs_q8_k},
      {DType::IQ2_XS, "iq2_xs", 256, 74, true, to_float_iq2_xs, nullptr, DType::Q8_K, vec_dot_iq2_xs_q8_k},
      {DType::IQ2_S, "iq2_s", 256, 82, true, to_float_iq2_s, nullptr, DType::Q8_K, vec_dot_iq2_s_q8_k},
      {DType::IQ3_XXS, "iq3_xxs", 256, 98, true, to_float_iq3_xxs, nullptr, DType::Q8_K, vec_dot_iq3_xxs_q8_k},
      {DType::IQ3_S, "iq3_s", 256, 110, true, to_float_iq3_s, nullptr, DType::Q8_K, vec_dot_iq3_s_q8_k},
      {DType::IQ1_S, "iq1_s", 256, 50, true, to_float_iq1_s, nullptr, DType::Q8_K, vec_dot_iq1_s_q8_k},
      {DType::IQ1_M, "iq1_m", 256, 56, true, to_float_iq1_m, nullptr, DType::Q8_K, vec_dot_iq1_m_q8_k},
      {DType::IQ4_NL, "iq4_nl", 32, 18, true, to_float_iq4_nl, nullptr, DType::Q8_0, vec_dot_iq4_nl_q8_0},
      {DType::IQ4_XS, "iq4_xs", 256, 136, true, to_float_iq4_xs, nullptr, DType::Q8_K, vec_dot_iq4_xs_q8_k},
  };
  // clang-format on
  Table t{};
  for (const auto& r : rows) t[static_cast<size_t>(r.type)] = r;
  return t;
}

TypeTraits& entry(Table& t, DType type) { return t[static_cast<size_t>(type)]; }

// AVX2 table: the scalar one with the specialised kernels swapped in.
Table make_avx2_table() {
  Table t = make_scalar_table();
  entry(t, DType::F32).vec_dot = vec_dot_f32_avx2;
  entry(t, DType::F16).to_float = to_float_f16_avx2;
  entry(t, DType::F16).from_float = from_float_f16_avx2;
  entry(t, DType::F16).vec_dot = vec_dot_f16_avx2;
  entry(t, DType::BF16).vec_dot = vec_dot_bf16_avx2;
  entry(t, DType::Q4_0).vec_dot = vec_dot_q4_0_q8_0_avx2;
  entry(t, DType::Q4_1).vec_dot = vec_dot_q4_1_q8_1_avx2;
  entry(t, DType::Q5_0).vec_dot = vec_dot_q5_0_q8_0_avx2;
  entry(t, DType::Q5_1).vec_dot = vec_dot_q5_1_q8_1_avx2;
  entry(t, DType::Q8_0).from_float = from_float_q8_0_avx2;
  entry(t, DType::Q8_0).vec_dot = vec_dot_q8_0_q8_0_avx2;
  entry(t, DType::Q8_1).from_float = from_float_q8_1_avx2;
  entry(t, DType::Q2_K).vec_dot = vec_dot_q2_k_q8_k_avx2;
  entry(t, DType::Q3_K).vec_dot = vec_dot_q3_k_q8_k_avx2;
  entry(t, DType::Q4_K).vec_dot = vec_dot_q4_k_q8_k_avx2;
  entry(t, DType::Q5_K).vec_dot = vec_dot_q5_k_q8_k_avx2;
  entry(t, DType::Q6_K).vec_dot = vec_dot_q6_k_q8_k_avx2;
  entry(t, DType::Q8_K).from_float = from_float_q8_k_avx2;
  entry(t, DType::IQ2_XXS).vec_dot = vec_dot_iq2_xxs_q8_k_avx2;
  entry(t, DType::IQ2_XS).vec_dot = vec_dot_iq2_xs_q8_k_avx2;
  entry(t, DType::IQ2_S).vec_dot = vec_dot_iq2_s_q8_k_avx2;
  entry(t, DType::IQ3_XXS).vec_dot = vec_dot_iq3_xxs_q8_k_avx2;
  entry(t, DType::IQ3_S).vec_dot = vec_dot_iq3_s_q8_k_avx2;
  entry(t, DType::IQ1_S).vec_dot = vec_dot_iq1_s_q8_k_avx2;
  entry(t, DType::IQ1_M).vec_dot = vec_dot_iq1_m_q8_k_avx2;
  entry(t, DType::IQ4_NL).vec_dot = vec_dot_iq4_nl_q8_0_avx2;
  entry(t, DType::IQ4_XS).vec_dot = vec_dot_iq4_xs_q8_k_avx2;
  return t;
}

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

const Table* table_for(Isa isa) {
  static const Table scalar = make_scalar_table();
  static const Table avx2 = make_avx2_table();
  static const bool has_avx2 = cpu_has_avx2();
  switch (isa) {
    case Isa::kScalar:
      return &scalar;
    case Isa::kAvx2:
      return has_avx2 ? &avx2 : nullptr;
  }
  return nullptr;
}

Isa pick_active_isa() {
  const char* env = std::getenv("R1_KERNELS");
  if (env && std::strcmp(env, "scalar") == 0) return Isa::kScalar;
  return isa_available(Isa::kAvx2) ? Isa::kAvx2 : Isa::kScalar;
}

const TypeTraits* lookup(const Table* t, DType type) {
  const auto i = static_cast<size_t>(type);
  if (!t || i >= kMaxType || (*t)[i].name == nullptr) return nullptr;
  return &(*t)[i];
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
  }
  return "?";
}

bool isa_available(Isa isa) { return table_for(isa) != nullptr; }

Isa active_isa() {
  static const Isa isa = pick_active_isa();
  return isa;
}

const TypeTraits* find_traits_for(Isa isa, DType type) { return lookup(table_for(isa), type); }

const TypeTraits* find_traits(DType type) { return find_traits_for(active_isa(), type); }

const TypeTraits* find_reference_traits(DType type) { return find_traits_for(Isa::kScalar, type); }

const TypeTraits& traits(DType type) {
  const TypeTraits* t = find_traits(type);
  if (!t) fail("tensor type {} is not supported by this build", dtype_name(type));
  return *t;
}

}  // namespace r1
