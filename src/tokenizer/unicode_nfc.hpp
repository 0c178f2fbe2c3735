// Unicode Normalization Form C (canonical decomposition, canonical ordering,
// canonical composition), for tokenizers whose tokenizer.json asks for an NFC
// normalizer (Qwen). Tables: Unicode 14.0 (unicode_nfc_data.hpp), the same
// version as PCRE2's. Input must be well-formed UTF-8.
#pragma once
#include <string>
#include <string_view>

namespace r1::tok {

// True when s contains no code point that NFC could change (then nfc(s) == s).
bool nfc_quick_check(std::string_view s);
std::string nfc(std::string_view s);

}  // namespace r1::tok
