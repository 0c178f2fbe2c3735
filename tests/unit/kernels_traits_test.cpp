// The traits tables: consistency with dtype.cpp's size table, llama.cpp's weight /
// activation pairings (ggml-cpu.c type_traits_cpu, written out here), and lookups.
#include <gtest/gtest.h>

#include <string>

#include "base/error.hpp"
#include "kernels_util.hpp"

namespace r1 {
namespace {

TEST(KernelsTraits, TablesAgreeWithDTypeInfo) {
  const DType all[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                       DType::Q5_1, DType::Q8_0, DType::Q8_1, DType::Q2_K, DType::Q3_K, DType::Q4_K,
                       DType::Q5_K, DType::Q6_K, DType::Q8_K};
  for (Isa isa : test::available_isas()) {
    for (DType t : all) {
      const TypeTraits* tr = find_traits_for(isa, t);
      ASSERT_NE(tr, nullptr) << dtype_name(t);
      EXPECT_EQ(tr->type, t);
      EXPECT_EQ(std::string(tr->name), std::string(dtype_name(t)));
      EXPECT_EQ(tr->block_size, dtype_block_size(t));
      EXPECT_EQ(tr->block_bytes, dtype_block_bytes(t));
      EXPECT_EQ(tr->quantized, tr->block_size > 1);
      EXPECT_NE(tr->to_float, nullptr);
      EXPECT_NE(tr->from_float, nullptr);
    }
  }
}

TEST(KernelsTraits, VecDotPairingsFollowLlamaCpp) {
  const std::pair<DType, DType> pairs[] = {
      {DType::F32, DType::F32},   {DType::F16, DType::F16},   {DType::BF16, DType::BF16},
      {DType::Q4_0, DType::Q8_0}, {DType::Q4_1, DType::Q8_1}, {DType::Q5_0, DType::Q8_0},
      {DType::Q5_1, DType::Q8_1}, {DType::Q8_0, DType::Q8_0}, {DType::Q2_K, DType::Q8_K},
      {DType::Q3_K, DType::Q8_K}, {DType::Q4_K, DType::Q8_K}, {DType::Q5_K, DType::Q8_K},
      {DType::Q6_K, DType::Q8_K}};
  for (Isa isa : test::available_isas()) {
    for (auto [w, a] : pairs) {
      const TypeTraits* tr = find_traits_for(isa, w);
      ASSERT_NE(tr, nullptr);
      EXPECT_EQ(tr->vec_dot_type, a) << dtype_name(w);
      EXPECT_NE(tr->vec_dot, nullptr) << dtype_name(w);
    }
    EXPECT_EQ(find_traits_for(isa, DType::Q8_1)->vec_dot, nullptr);
    EXPECT_EQ(find_traits_for(isa, DType::Q8_K)->vec_dot, nullptr);
  }
}

TEST(KernelsTraits, UnsupportedTypes) {
  for (DType t : {DType::I8, DType::I16, DType::I32, DType::I64, DType::F64, static_cast<DType>(4),
                  static_cast<DType>(34), static_cast<DType>(99)}) {
    EXPECT_EQ(find_traits(t), nullptr);
    EXPECT_EQ(find_reference_traits(t), nullptr);
    EXPECT_THROW(traits(t), Error);
  }
  try {
    traits(DType::I32);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("i32"), std::string::npos) << e.what();
  }
}

TEST(KernelsTraits, ActiveIsaIsAvailable) {
  EXPECT_TRUE(isa_available(Isa::kScalar));
  EXPECT_TRUE(isa_available(active_isa()));
  EXPECT_EQ(find_traits(DType::Q4_0), find_traits_for(active_isa(), DType::Q4_0));
  EXPECT_EQ(&traits(DType::Q4_K), find_traits(DType::Q4_K));
  std::printf("[ info     ] active kernels: %s\n", isa_name(active_isa()));
}

}  // namespace
}  // namespace r1
