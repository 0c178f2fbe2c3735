// Byte-level BPE tokenizer (GPT-2 style, as used by DeepSeek-V3/R1, Qwen2/3 and
// Llama-3), loaded from GGUF metadata (tokenizer.ggml.*) or from a Hugging Face
// tokenizer.json (+ tokenizer_config.json).
//
// Contracts:
// - encode(): special/control and user-defined tokens that appear verbatim in the
//   text are matched as single tokens when parse_special is true (longest match
//   first); the rest is split by the pre-tokenizer chosen by tokenizer.ggml.pre and
//   merged by BPE rank. BOS is prepended only if add_bos is requested AND the model
//   says so (tokenizer.ggml.add_bos_token), and never twice (no BOS is added when
//   the text already starts with the BOS token). When add_bos is requested and the
//   model sets tokenizer.ggml.add_eos_token, EOS is appended as well.
// - Added tokens: control tokens are matched only when parse_special is true;
//   user-defined tokens (e.g. <think>) are always matched (llama.cpp's rule).
// - from_hf_json() also applies what tokenizer.json has and GGUF does not: the
//   NFC normalizer (Qwen) on the text between added tokens, lstrip/rstrip/
//   single_word flags and model.ignore_merges. A GGUF (from_gguf) carries no
//   normalizer, so it tokenizes like llama.cpp does: without NFC.
// - Invalid UTF-8 in the input is replaced by U+FFFD per maximal invalid
//   subsequence before tokenization (documented behaviour, same everywhere).
// - token_bytes() returns the raw bytes a token stands for (byte-level decoding
//   applied); special tokens return their text.
// - StreamDecoder never returns a partial UTF-8 character: bytes are held back
//   until the character completes; flush() returns what is left (invalid bytes
//   become U+FFFD).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

namespace gguf {
class Metadata;
class Writer;
}

enum class TokenType : int32_t {  // GGUF tokenizer.ggml.token_type values
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

// Everything that defines a vocabulary, as stored in GGUF (tokenizer.ggml.*).
struct VocabData {
  std::string model = "gpt2";            // tokenizer.ggml.model
  std::string pre = "default";           // tokenizer.ggml.pre
  std::vector<std::string> tokens;       // byte-level-encoded token strings
  std::vector<TokenType> types;          // same length as tokens (or empty = all normal)
  std::vector<std::string> merges;       // "a b" pairs in rank order
  int32_t bos = -1, eos = -1, eot = -1, pad = -1, unk = -1;
  bool add_bos = false, add_eos = false;
  std::string chat_template;             // tokenizer.chat_template (may be empty)
};

class Tokenizer {
 public:
  // Throws r1::Error for a malformed or unsupported vocabulary (unknown
  // tokenizer.ggml.model or .pre, a merge line without a space, out-of-range
  // special ids). Merges whose parts or result are not tokens are skipped, with
  // one warning (log) naming how many.
  static std::unique_ptr<Tokenizer> from_vocab(VocabData vocab);
  static std::unique_ptr<Tokenizer> from_gguf(const gguf::Metadata& md);
  // Reads tokenizer.json (and tokenizer_config.json beside it when present).
  static std::unique_ptr<Tokenizer> from_hf_json(const std::string& tokenizer_json_path);
  // The same from the files' contents (tokenizer_config: nullptr = none); errors
  // name "<name>/tokenizer.json" and "<name>/tokenizer_config.json". Bounds on
  // untrusted files: ids below 2^24, at most 65,536 unused ids ([PAD<id>] gaps),
  // Sequence pre-tokenizers nested at most 16 deep; a JSON value of the wrong type
  // is an r1::Error naming the key.
  static std::unique_ptr<Tokenizer> from_hf_text(std::string_view tokenizer_json, const std::string* tokenizer_config,
                                                 const std::string& name);
  virtual ~Tokenizer() = default;

  virtual std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const = 0;
  virtual std::string token_bytes(int32_t id) const = 0;
  // Concatenated bytes of ids (may contain invalid UTF-8 if cut mid-character).
  std::string decode(const std::vector<int32_t>& ids) const;

  virtual const VocabData& vocab() const = 0;
  int32_t n_vocab() const { return static_cast<int32_t>(vocab().tokens.size()); }
  int32_t bos() const { return vocab().bos; }
  int32_t eos() const { return vocab().eos; }
  // End-of-generation: eos, eot, and other control tokens the model uses to stop
  // (e.g. <|im_end|>, <|EOT|>, <|eot_id|>).
  virtual bool is_eog(int32_t id) const = 0;
  // Id of a token whose text is exactly `text` (special or normal), or -1.
  virtual int32_t find_token(std::string_view text) const = 0;

  class StreamDecoder {
   public:
    explicit StreamDecoder(const Tokenizer& t) : tok_(t) {}
    std::string push(int32_t id);  // complete UTF-8 characters only
    std::string flush();
   private:
    const Tokenizer& tok_;
    std::string pending_;
  };

  // Data that a higher layer derives from this vocabulary (the grammar's token trie),
  // built once by `make` on first use under `key` and kept for the tokenizer's lifetime.
  // Thread-safe; `make` runs at most once per key (its exceptions propagate, nothing kept).
  std::shared_ptr<const void> derived(std::string_view key,
                                      const std::function<std::shared_ptr<const void>()>& make) const;

 private:
  mutable std::mutex derived_mu_;
  mutable std::map<std::string, std::shared_ptr<const void>, std::less<>> derived_;
};

// The vocabulary of a Hugging Face tokenizer.json (+ tokenizer_config.json beside
// it), as it would be stored in GGUF: added tokens become control (special) or
// user-defined tokens, id gaps become "[PAD<id>]" unused tokens, and pre is the
// GGUF name recognised from the pre_tokenizer regexes ("qwen2", "deepseek-v3",
// "llama-bpe", "gpt-2"). Throws r1::Error when the file is unreadable or its
// model / pre_tokenizer / normalizer is not supported.
VocabData load_hf_vocab(const std::string& tokenizer_json_path);

// A small built-in byte-level vocabulary for small random models: 256 byte
// tokens, a few hundred merges learned on English text, and the R1 specials
// <｜begin▁of▁sentence｜> (bos, control), <｜end▁of▁sentence｜> (eos, pad,
// control), <｜User｜>, <｜Assistant｜>, <think>, </think> (user-defined);
// pre = "deepseek-r1-qwen", add_bos = true.
VocabData builtin_byte_vocab();

// Pads the vocabulary with unused "[PAD<id>]" tokens to n_vocab entries (the embedding's
// rows, as a model file stores them). Throws r1::Error when it has more than n_vocab tokens.
void pad_vocab(VocabData& v, int64_t n_vocab);

// Writes the tokenizer.ggml.* keys and tokenizer.chat_template that Tokenizer::from_gguf
// reads back, the vocabulary padded to n_vocab entries (pad_vocab).
void write_vocab_metadata(gguf::Writer& w, VocabData v, int64_t n_vocab);

// Replaces invalid UTF-8 with U+FFFD (one per maximal invalid subsequence).
std::string sanitize_utf8(std::string_view s);
// Number of bytes at the end of s that form an incomplete (but so far valid)
// UTF-8 sequence: 0..3.
size_t utf8_incomplete_tail(std::string_view s);

}  // namespace r1
