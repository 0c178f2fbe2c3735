// Kernel variants per instruction set (internal to the kernels layer and its tests).
// One traits table exists per ISA; find_traits() (types.hpp) serves the table of
// active_isa(). Tests sweep every available ISA against Isa::kScalar.
#pragma once
#include "kernels/types.hpp"

namespace r1 {

enum class Isa {
  kScalar,  // portable C++ (the reference)
  kAvx2,    // x86-64 AVX2 + FMA + F16C (files *_avx2.cpp)
};
inline constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2};

const char* isa_name(Isa isa);
// True if this build contains the variant and the running CPU can execute it.
bool isa_available(Isa isa);
// The ISA whose table find_traits() returns: the best available one, unless the
// environment variable R1_KERNELS=scalar (read once) forces the reference kernels.
Isa active_isa();
// Traits of `type` in the table of `isa`; nullptr if the type is unsupported or the
// ISA is unavailable. Entries an ISA does not specialise are the scalar ones.
const TypeTraits* find_traits_for(Isa isa, DType type);

// 512-bit variants of the packed / tiled matrix kernels (AVX-512 F, BW, VL and VNNI:
// Zen 4 and later, Ice Lake and later), bit-identical to the AVX2 ones. True when the
// CPU has them, active_isa() is kAvx2 and R1_KERNELS is not "avx2" (read once).
bool avx512_active();
// What the matrix kernels run on: "scalar", "avx2" or "avx2+avx512" (r1 bench prints it).
const char* kernels_name();

}  // namespace r1
