// Reads the i-quant codebooks out of llama.cpp's own dequantizers and writes them as
// src/kernels/iq_grids_data.cpp, in this project's packed encoding.
//
// The grids (iq2xxs / iq2xs / iq2s / iq3xxs / iq3s / iq1s) and the IQ4_NL value table are
// format constants: a file quantized with them can only be read with exactly these
// values. Rather than transcribe tables, this tool recovers every entry by running
// dequantize_row_* of the libggml-base.so that node-llama-cpp ships (the oracle the tests
// compare against) on blocks that select one entry at unit scale, and checks that every
// element is one of the type's few levels. It also checks the sign table rule used by
// the kernels (ksigns entry i = i with bit 7 set when popcount(i) is odd).
//
// Build and run (once; the output is committed):
//   g++ -O1 -std=c++20 tests/reference/tools/gen_iq_grids.cpp -ldl -o /tmp/gen_iq_grids
//   /tmp/gen_iq_grids tests/reference/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so \
//       > src/kernels/iq_grids_data.cpp
#include <dlfcn.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using DequantFn = void (*)(const void* x, float* y, int64_t k);
constexpr int kQK = 256;

[[noreturn]] void die(const char* what, int entry = -1) {
  std::fprintf(stderr, "gen_iq_grids: %s (entry %d)\n", what, entry);
  std::exit(1);
}

DequantFn fn(void* lib, const char* name) {
  auto f = reinterpret_cast<DequantFn>(dlsym(lib, name));
  if (!f) die(name);
  return f;
}

void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
constexpr uint16_t kHalfOne = 0x3C00;

// Level index of value v among `levels`; dies when v is not one of them.
int level_of(float v, const std::vector<float>& levels, int entry) {
  for (size_t i = 0; i < levels.size(); ++i)
    if (v == levels[i]) return static_cast<int>(i);
  die("grid value outside the expected levels", entry);
}

// Packs `per_entry` level indices of `bits` bits each, first element in the low bits.
void emit(const char* name, const std::vector<uint32_t>& codes, const char* ctype) {
  std::printf("const %s %s[%zu] = {", ctype, name, codes.size());
  for (size_t i = 0; i < codes.size(); ++i) std::printf("%s0x%x,", i % 12 == 0 ? "\n    " : " ", codes[i]);
  std::printf("\n};\n\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) die("usage: gen_iq_grids path/to/libggml-base.so");
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) die(dlerror());
  std::vector<float> out(kQK);

  // Signs rule check via iq2_xxs: grid entry 0 with sign index s must flip exactly the bits of
  // s plus bit 7 on odd parity.
  const std::vector<float> lv2 = {8, 25, 43};  // the 2-bit grids' levels (x 0.125 at unit scale)

  // ---- iq2_xxs: 66-byte block {d, qs[32] u16}; per 32 elements: 4 grid bytes, then u32 of
  // 4 x 7-bit sign indices and a 4-bit scale. Scale 0 -> db = d * 0.5 * 0.25 = 0.125.
  std::vector<uint32_t> iq2xxs(256);
  {
    auto f = fn(lib, "dequantize_row_iq2_xxs");
    for (int base = 0; base < 256; base += 32) {
      uint8_t b[66] = {};
      put16(b, kHalfOne);
      for (int g = 0; g < 8; ++g)
        for (int l = 0; l < 4; ++l) b[2 + 8 * g + l] = static_cast<uint8_t>(base + 4 * g + l);
      f(b, out.data(), kQK);
      for (int e = 0; e < 32; ++e) {
        uint32_t code = 0;
        for (int j = 0; j < 8; ++j) code |= level_of(out[8 * e + j] * 8, lv2, base + e) << (2 * j);
        iq2xxs[base + e] = code;
      }
    }
    // sign table: entry 0 of the grid, sign index s in the first group.
    for (int s = 0; s < 128; ++s) {
      uint8_t b[66] = {};
      put16(b, kHalfOne);
      const uint32_t signs = static_cast<uint32_t>(s);
      std::memcpy(b + 2 + 4, &signs, 4);
      f(b, out.data(), kQK);
      const int expect = s | (__builtin_popcount(s) & 1 ? 0x80 : 0);
      for (int j = 0; j < 8; ++j)
        if ((out[j] < 0) != ((expect >> j) & 1)) die("sign table rule does not hold", s);
    }
  }
  // ---- iq2_xs: 74-byte block {d, qs[32] u16 (9-bit grid index | 7-bit sign index << 9), scales[8]}.
  std::vector<uint32_t> iq2xs(512);
  {
    auto f = fn(lib, "dequantize_row_iq2_xs");
    for (int base = 0; base < 512; base += 32) {
      uint8_t b[74] = {};
      put16(b, kHalfOne);
      for (int i = 0; i < 32; ++i) put16(b + 2 + 2 * i, static_cast<uint16_t>(base + i));
      f(b, out.data(), kQK);
      for (int e = 0; e < 32; ++e) {
        uint32_t code = 0;
        for (int j = 0; j < 8; ++j) code |= level_of(out[8 * e + j] * 8, lv2, base + e) << (2 * j);
        iq2xs[base + e] = code;
      }
    }
  }
  // ---- iq2_s: 82-byte block {d, qs[64] (32 low grid bytes, then 32 sign bytes), qh[8], scales[8]};
  // grid index = qs[l] | ((qh[ib] >> 2l) & 3) << 8.
  std::vector<uint32_t> iq2s(1024);
  {
    auto f = fn(lib, "dequantize_row_iq2_s");
    for (int base = 0; base < 1024; base += 32) {
      uint8_t b[82] = {};
      put16(b, kHalfOne);
      for (int ib = 0; ib < 8; ++ib) {
        uint8_t qh = 0;
        for (int l = 0; l < 4; ++l) {
          const int idx = base + 4 * ib + l;
          b[2 + 4 * ib + l] = static_cast<uint8_t>(idx & 255);
          qh |= static_cast<uint8_t>(((idx >> 8) & 3) << (2 * l));
        }
        b[2 + 64 + ib] = qh;
      }
      f(b, out.data(), kQK);
      for (int e = 0; e < 32; ++e) {
        uint32_t code = 0;
        for (int j = 0; j < 8; ++j) code |= level_of(out[8 * e + j] * 8, lv2, base + e) << (2 * j);
        iq2s[base + e] = code;
      }
    }
  }
  // ---- iq3_xxs: 98-byte block {d, qs[64] grid bytes, 32 bytes of u32 sign+scale words}; each
  // grid entry is 4 values. Scale 0 -> db = d * 0.5 * 0.5 = 0.25.
  const std::vector<float> lv3x = {4, 12, 20, 28, 36, 44, 52, 62};
  std::vector<uint32_t> iq3xxs(256);
  {
    auto f = fn(lib, "dequantize_row_iq3_xxs");
    for (int base = 0; base < 256; base += 64) {
      uint8_t b[98] = {};
      put16(b, kHalfOne);
      for (int i = 0; i < 64; ++i) b[2 + i] = static_cast<uint8_t>(base + i);
      f(b, out.data(), kQK);
      for (int e = 0; e < 64; ++e) {
        uint32_t code = 0;
        for (int j = 0; j < 4; ++j) code |= level_of(out[4 * e + j] * 4, lv3x, base + e) << (3 * j);
        iq3xxs[base + e] = code;
      }
    }
  }
  // ---- iq3_s: 110-byte block {d, qs[64], qh[8], signs[32], scales[4]}; index = qs | bit from qh.
  // Scale 0 -> db = d * 1.
  const std::vector<float> lv3s = {1, 3, 5, 7, 9, 11, 13, 15};
  std::vector<uint32_t> iq3s(512);
  {
    auto f = fn(lib, "dequantize_row_iq3_s");
    for (int base = 0; base < 512; base += 64) {
      uint8_t b[110] = {};
      put16(b, kHalfOne);
      for (int i = 0; i < 64; ++i) {
        const int idx = base + i;
        b[2 + i] = static_cast<uint8_t>(idx & 255);
        if (idx & 256) b[2 + 64 + i / 8] |= static_cast<uint8_t>(1 << (i % 8));
      }
      f(b, out.data(), kQK);
      for (int e = 0; e < 64; ++e) {
        uint32_t code = 0;
        for (int j = 0; j < 4; ++j) code |= level_of(out[4 * e + j], lv3s, base + e) << (3 * j);
        iq3s[base + e] = code;
      }
    }
  }
  // ---- iq1_s: 50-byte block {d, qs[32], qh[8] u16}; index = qs[l] | ((qh >> 3l) & 7) << 8;
  // value = d * (2s+1) * (grid + delta), delta +1/8 with qh bit 15 clear.
  const std::vector<float> lv1 = {-1, 0, 1};
  std::vector<uint32_t> iq1s(2048);
  {
    auto f = fn(lib, "dequantize_row_iq1_s");
    for (int base = 0; base < 2048; base += 32) {
      uint8_t b[50] = {};
      put16(b, kHalfOne);
      for (int ib = 0; ib < 8; ++ib) {
        uint16_t qh = 0;
        for (int l = 0; l < 4; ++l) {
          const int idx = base + 4 * ib + l;
          b[2 + 4 * ib + l] = static_cast<uint8_t>(idx & 255);
          qh |= static_cast<uint16_t>(((idx >> 8) & 7) << (3 * l));
        }
        put16(b + 34 + 2 * ib, qh);
      }
      f(b, out.data(), kQK);
      for (int e = 0; e < 32; ++e) {
        uint32_t code = 0;
        for (int j = 0; j < 8; ++j) code |= level_of(out[8 * e + j] - 0.125f, lv1, base + e) << (2 * j);
        iq1s[base + e] = code;
      }
    }
  }
  // ---- iq4_nl: 18-byte block {d, qs[16]}: value = d * kvalues[nibble].
  std::vector<int> kvalues(16);
  {
    auto f = fn(lib, "dequantize_row_iq4_nl");
    uint8_t b[18] = {};
    put16(b, kHalfOne);
    for (int i = 0; i < 16; ++i) b[2 + i] = static_cast<uint8_t>(i);
    f(b, out.data(), 32);
    for (int i = 0; i < 16; ++i) {
      if (out[i] != std::nearbyint(out[i]) || std::fabs(out[i]) > 127) die("iq4_nl value not an int8", i);
      kvalues[i] = static_cast<int>(out[i]);
    }
  }

  std::printf(
      "// GENERATED by tests/reference/tools/gen_iq_grids.cpp from llama.cpp's dequantizers; do not edit.\n"
      "// The i-quant codebooks in this project's packed encoding (see iq_grids.hpp): every\n"
      "// entry lists its elements' level indices, element j in bits [b*j, b*j + b).\n"
      "#include \"kernels/iq_grids.hpp\"\n\nnamespace r1::kernels::iq_data {\n\n");
  emit("kIq2xxsCodes", iq2xxs, "uint16_t");
  emit("kIq2xsCodes", iq2xs, "uint16_t");
  emit("kIq2sCodes", iq2s, "uint16_t");
  emit("kIq3xxsCodes", iq3xxs, "uint16_t");
  emit("kIq3sCodes", iq3s, "uint16_t");
  emit("kIq1sCodes", iq1s, "uint16_t");
  std::printf("const int8_t kIq4nlValues[16] = {");
  for (int i = 0; i < 16; ++i) std::printf("%s%d", i ? ", " : "", kvalues[i]);
  std::printf("};\n\n}  // namespace r1::kernels::iq_data\n");
  return 0;
}
