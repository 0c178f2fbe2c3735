// Random weight blocks of the codebook types (IQ1_S .. IQ4_XS), for random-weight model
// files and tests. Every bit pattern of an i-quant block is a valid block, so a block is
// random bytes whose super-block scale d is then set so that the block's dequantized
// values have the requested root mean square (|d| is rounded to fp16; its sign is random).
#pragma once
#include <cstdint>

#include "kernels/types.hpp"

namespace r1::kernels {

// True for the types fill_random_blocks accepts.
bool has_random_blocks(DType type);
// Writes n elements (a multiple of the block size) of `type` at dst: deterministic in seed.
void fill_random_blocks(DType type, void* dst, int64_t n, uint64_t seed, float target_rms);

}  // namespace r1::kernels
