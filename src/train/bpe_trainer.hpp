// Byte-level BPE training (GPT-2 style), so that a small model gets a small
// vocabulary of its own.
//
// Contract: the result uses the same layout as builtin_byte_vocab(): ids 0..255
// are the 256 bytes in byte order, then one token per learned merge in merge
// order, then the special tokens. The corpus is split by the pre-tokenizer named
// by options.pre (the one the vocabulary will be used with), so merges never
// cross a piece boundary and the engine's tokenizer reproduces the training
// segmentation. Special-token strings found in the corpus are cut out before
// counting. Merges are chosen by highest pair count, ties broken by the
// lexicographic order of (left, right) token text, so the same corpus gives the
// same vocabulary. Learning stops at vocab_size tokens or when no pair occurs
// min_frequency times.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace r1::train {

struct BpeSpecial {
  std::string text;
  TokenType type;
};

// The R1 specials: <｜begin▁of▁sentence｜> (bos, control), <｜end▁of▁sentence｜>
// (eos, pad, control), <｜User｜>, <｜Assistant｜>, <think>, </think> (user-defined).
std::vector<BpeSpecial> r1_special_tokens();

struct BpeTrainOptions {
  int32_t vocab_size = 512;          // total, bytes and specials included
  int32_t min_frequency = 2;
  std::string pre = "deepseek-r1-qwen";
  std::vector<BpeSpecial> specials = r1_special_tokens();  // first control = bos, second = eos
  std::string chat_template;         // stored in the vocabulary as is
};

// Throws r1::Error for a vocab_size below 256 + specials or an unknown pre-tokenizer.
VocabData train_bpe(const std::vector<std::string>& corpus, const BpeTrainOptions& opts);

// Writes `v` as a Hugging Face tokenizer.json, and tokenizer_config.json beside it
// (bos/eos/pad tokens, add_bos_token, chat_template), in the form load_hf_vocab()
// reads back. Only the qwen2-family pre-tokenizers can be written.
void save_hf_tokenizer(const VocabData& v, const std::string& tokenizer_json_path);
// Writes `v` as a vocabulary-only GGUF (tokenizer.* metadata, no tensors).
void save_vocab_gguf(const VocabData& v, const std::string& path);
// Reads a vocabulary from a .gguf (model or vocab-only) or a tokenizer.json.
VocabData load_vocab_file(const std::string& path);

}  // namespace r1::train
