// libFuzzer entry point for the safetensors reader. An input starting with '{' is an
// index (model.safetensors.index.json text); anything else is one .safetensors file.
// Each must either parse or throw r1::Error. For a parsed file the invariants of the
// contract in format/safetensors.hpp are checked (with __builtin_trap): every view
// lies inside the input, the views tile the data buffer in order, find() agrees with
// the table; and every convertible tensor is converted (ASan checks every byte read).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "format/safetensors.hpp"

namespace {

namespace st = r1::safetensors;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void fuzz_index(const uint8_t* data, size_t size) {
  try {
    const st::Index idx = st::parse_index(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
    for (const auto& [tensor, shard] : idx.weights) {
      check(shard < idx.shards.size());
      const std::string& s = idx.shards[shard];
      check(!s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos);
    }
  } catch (const r1::Error&) {
  }
}

void fuzz_file(const uint8_t* data, size_t size) {
  std::unique_ptr<st::File> f;
  try {
    f = st::File::parse(data, size, "fuzz.safetensors");
  } catch (const r1::Error&) {
    return;
  }
  const uint8_t* buffer = data + 8 + f->header_bytes();
  const uint8_t* pos = buffer;
  std::vector<float> out;
  for (const st::TensorInfo& t : f->tensors()) {
    check(t.data == pos && t.data == buffer + t.begin && t.nbytes == t.end - t.begin);
    check(t.data + t.nbytes <= data + size);
    pos += t.nbytes;
    check(f->find(t.name) == &t);
    check(t.n_elements() >= 0);
    const st::DtypeInfo& info = st::dtype_info(t.dtype);
    check(static_cast<uint64_t>(t.n_elements()) * static_cast<uint64_t>(info.bits) == t.nbytes * 8);
    if (info.to_float) {
      out.assign(static_cast<size_t>(t.n_elements()), 0.0f);
      st::to_float(t, out.data());
    }
    if (const st::TensorInfo* s = f->find(st::scale_inv_name(t.name))) {
      try {
        out.assign(static_cast<size_t>(t.n_elements()), 0.0f);
        st::dequantize_fp8_blocks(t, *s, out.data(), 2);  // small blocks: more edge cases per input
      } catch (const r1::Error&) {
      }
    }
  }
  check(pos == data + size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] == '{') fuzz_index(data, size);
  else fuzz_file(data, size);
  return 0;
}
