// libFuzzer entry point for the Hugging Face tokenizer loader: the input is
// tokenizer.json, then optionally a NUL byte and tokenizer_config.json (JSON text
// cannot contain a raw NUL, so the split is unambiguous). Both go through the real
// loader (Tokenizer::from_hf_text); when it loads, a short text is encoded,
// decoded and stream-decoded, and every produced id must be inside the vocabulary.
// Any input must load or throw r1::Error; crashes, sanitizer reports, leaks,
// timeouts and broken invariants (__builtin_trap) fail.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "tokenizer/tokenizer.hpp"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view json = input.substr(0, nul);
  std::string config;
  if (nul != std::string_view::npos) config = std::string(input.substr(nul + 1));
  std::unique_ptr<r1::Tokenizer> t;
  try {
    t = r1::Tokenizer::from_hf_text(json, nul == std::string_view::npos ? nullptr : &config, "fuzz");
  } catch (const r1::Error&) {
    return 0;
  }
  const int32_t n = t->n_vocab();
  check(n > 0);
  for (const bool special : {false, true}) {
    const std::vector<int32_t> ids = t->encode("Hello wörld 123 <s> 中文 \r\n\t<think>x</think> ab", true, special);
    for (int32_t id : ids) check(id >= 0 && id < n);
    (void)t->decode(ids);
    r1::Tokenizer::StreamDecoder sd(*t);
    for (int32_t id : ids) (void)sd.push(id);
    (void)sd.flush();
  }
  for (int32_t id = 0; id < n && id < 512; ++id) (void)t->token_bytes(id);
  (void)t->is_eog(t->eos());
  (void)t->find_token("<s>");
  return 0;
}
