// Tables for NFC normalization, generated (unicode_nfc_data.cpp) from the
// Unicode Character Database by tests/reference/tokenizer/gen_nfc_tables.py.
// All arrays are sorted by their first field.
#pragma once
#include <cstddef>
#include <cstdint>

namespace r1::nfc_data {

struct CccRange {
  uint32_t first, last;
  uint8_t ccc;  // canonical combining class (non-zero)
};
struct Decomp {
  uint32_t cp;
  uint16_t offset;  // into kDecompData
  uint8_t length;   // full canonical decomposition, already recursive
};
struct Compose {
  uint32_t first, second, composite;  // primary composites only
};
struct Range {
  uint32_t first, last;
};

extern const char kUnicodeVersion[];
extern const CccRange kCcc[];
extern const size_t kCccCount;
extern const uint32_t kDecompData[];
extern const Decomp kDecomp[];
extern const size_t kDecompCount;
extern const Compose kCompose[];
extern const size_t kComposeCount;
// Code points that NFC may change or that may combine with their neighbour
// (non-zero ccc, NFC_QC = No or Maybe); text without any is already NFC.
extern const Range kUnsafe[];
extern const size_t kUnsafeCount;

}  // namespace r1::nfc_data
