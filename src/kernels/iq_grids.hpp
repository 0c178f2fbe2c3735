// The i-quant codebooks, expanded once into the forms the kernels index.
// Internal to the kernels layer.
//
// The packed data (iq_grids_data.cpp, generated from llama.cpp's dequantizers by
// tests/reference/tools/gen_iq_grids.cpp) stores each grid entry as level indices; the
// expansion here turns them into the byte rows llama.cpp's block formats address:
//   grid2xxs / grid2xs / grid2s  8 bytes per entry, levels {8, 25, 43}
//   grid3xxs                      4 bytes per entry, levels {4, 12, ..., 52, 62}
//   grid3s                        4 bytes per entry, levels {1, 3, ..., 15}
//   grid1s                        8 signed bytes per entry, levels {-1, 0, 1}
//   signs[i]      the 8-element sign mask of 7-bit sign index i (bit 7 = odd parity)
//   sign_bytes[i] the same mask as 8 bytes of +1 / -1 (for _mm256_sign_epi8)
//   mask_bytes[m] any 8-bit sign mask m as 8 bytes of +1 / -1
//   iq4nl         the 16 non-linear 4-bit values
#pragma once
#include <cstdint>

namespace r1::kernels {

namespace iq_data {
extern const uint16_t kIq2xxsCodes[256];
extern const uint16_t kIq2xsCodes[512];
extern const uint16_t kIq2sCodes[1024];
extern const uint16_t kIq3xxsCodes[256];
extern const uint16_t kIq3sCodes[512];
extern const uint16_t kIq1sCodes[2048];
extern const int8_t kIq4nlValues[16];
}  // namespace iq_data

struct IqTables {
  alignas(64) uint64_t grid2xxs[256];
  alignas(64) uint64_t grid2xs[512];
  alignas(64) uint64_t grid2s[1024];
  alignas(64) uint32_t grid3xxs[256];
  alignas(64) uint32_t grid3s[512];
  alignas(64) uint64_t grid1s[2048];
  alignas(64) uint64_t sign_bytes[128];
  alignas(64) uint64_t mask_bytes[256];
  uint8_t signs[128];
  alignas(16) int8_t iq4nl[16];
};

// Built on first use (thread-safe), then read-only.
const IqTables& iq_tables();

}  // namespace r1::kernels
