// The byte-level BPE Tokenizer implementation behind Tokenizer::from_vocab /
// from_gguf / from_hf_json (internal to the tokenizer layer).
#pragma once
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/bpe.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/special_tokens.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::tok {

// Options that tokenizer.json carries but GGUF metadata does not.
struct HfExtras {
  bool nfc = false;                     // normalizer: NFC
  int ignore_merges = -1;               // -1: from the pre-tokenizer name (llama.cpp rule)
  struct Flags {
    int32_t id = -1;
    bool lstrip = false, rstrip = false, single_word = false;
  };
  std::vector<Flags> added;             // per added token (by id)
};

// Hash that lets unordered_map<std::string, ...> be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeTokenizer final : public Tokenizer {
 public:
  BpeTokenizer(VocabData vocab, const HfExtras& extras);

  std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const override;
  std::string token_bytes(int32_t id) const override;
  const VocabData& vocab() const override { return vocab_; }
  bool is_eog(int32_t id) const override;
  int32_t find_token(std::string_view text) const override;

 private:
  // Appends the ids of one plain (non-special) segment of well-formed UTF-8.
  struct Session;
  void encode_plain(std::string_view text, Session& s) const;

  VocabData vocab_;
  bool nfc_ = false;
  bool ignore_merges_ = false;
  std::unique_ptr<PreTokenizer> pre_;
  std::unique_ptr<BpeMerger> bpe_;
  std::unique_ptr<SpecialMatcher> specials_;
  uint64_t instance_ = 0;                  // unique per tokenizer object: owner tag of the thread's word cache
  StringMap text_to_id_;                   // token text (as stored) -> first id
  StringMap bytes_to_id_;                  // normal tokens: raw bytes -> id (only with ignore_merges)
  std::vector<std::string> bytes_;         // (n_vocab) raw bytes of each token
  std::vector<bool> eog_;                  // (n_vocab)
};

}  // namespace r1::tok
