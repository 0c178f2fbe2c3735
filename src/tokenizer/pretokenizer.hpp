// Pre-tokenizers: split text into the pieces that BPE merges within, selected by
// the GGUF name tokenizer.ggml.pre. Each is a sequence of PCRE2 regexes (JIT,
// UTF + UCP) with Hugging Face "Split, behavior Isolated" semantics: every
// regex is applied to each piece produced by the previous one (it cannot see
// across piece boundaries, look-ahead included); matches and the gaps between
// them both become pieces, in order; empty pieces are dropped.
//
// \s in the original patterns is spelled as the Unicode White_Space property
// (as in HF tokenizers and llama.cpp): U+0009..000D, 0020, 0085, 00A0, 1680,
// 2000..200A, 2028, 2029, 202F, 205F, 3000. PCRE2's own \s would also take
// U+180E, and JavaScript's would take U+FEFF and not U+0085. The case-insensitive
// contraction group (?i:'s|'t|...) is spelled with explicit [sS] classes as in
// llama.cpp, so that 'ſ' (U+017F) does not match.
//
// Where llama.cpp runs a pattern as std::wregex (no \p{..} in it), a literal
// non-ASCII class does not match white space and "$" is the end of the piece;
// the patterns here say so explicitly (see definitions() in pretokenizer.cpp).
//
// The Unicode tables are PCRE2's (10.42: Unicode 14.0).
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace r1::tok {

struct Span {
  uint32_t begin = 0, end = 0;  // byte offsets into the text, begin < end
};

class PreTokenizer {
 public:
  // Throws r1::Error naming `name` when it is not a known pre-tokenizer.
  static std::unique_ptr<PreTokenizer> create(std::string_view name);
  // Names accepted by create() (canonical names first in each group).
  static std::vector<std::string> known_names();
  // The canonical name of a group of aliases (name() of what create(name) makes),
  // or "" when name is not known.
  static std::string canonical_name(std::string_view name);
  ~PreTokenizer();

  // Appends the pieces of text (well-formed UTF-8) to *out, offsets relative to
  // text.data() plus `base`. Thread-safe.
  void split(std::string_view text, uint32_t base, std::vector<Span>* out) const;

  const std::string& name() const { return name_; }

  struct Regex;  // one compiled pattern (pcre2_code + JIT)

 private:
  PreTokenizer() = default;
  std::string name_;
  std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace r1::tok
