// Tokenizer::from_gguf: reads the tokenizer.ggml.* metadata keys (the names
// llama.cpp uses) into a VocabData.
#include "base/error.hpp"
#include "format/gguf.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

int32_t id_or(const gguf::Metadata& md, std::string_view key) {
  const int64_t v = md.get_int_or(key, -1);
  if (v < -1 || v > INT32_MAX) fail("metadata {} = {} is not a valid token id", key, v);
  return static_cast<int32_t>(v);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::Metadata& md) {
  VocabData v;
  v.model = md.get_string_or("tokenizer.ggml.model", "");
  if (v.model.empty()) fail("model file has no tokenizer (metadata tokenizer.ggml.model is missing)");
  // A missing pre name means llama.cpp's "default" pre-tokenizer (it warns).
  v.pre = md.get_string_or("tokenizer.ggml.pre", "default");
  v.tokens = md.get_strings("tokenizer.ggml.tokens");
  if (v.tokens.empty()) fail("model file has no tokenizer.ggml.tokens");
  const std::vector<int64_t> types = md.get_ints("tokenizer.ggml.token_type");
  if (!types.empty() && types.size() != v.tokens.size())
    fail("tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {}", types.size(),
         v.tokens.size());
  v.types.reserve(types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] < 0 || types[i] > 6) fail("tokenizer.ggml.token_type[{}] = {} is not a token type", i, types[i]);
    v.types.push_back(static_cast<TokenType>(types[i]));
  }
  v.merges = md.get_strings("tokenizer.ggml.merges");
  if (v.model == "gpt2" && v.merges.empty()) fail("model file has no tokenizer.ggml.merges");
  v.bos = id_or(md, "tokenizer.ggml.bos_token_id");
  v.eos = id_or(md, "tokenizer.ggml.eos_token_id");
  v.eot = id_or(md, "tokenizer.ggml.eot_token_id");
  v.pad = id_or(md, "tokenizer.ggml.padding_token_id");
  v.unk = id_or(md, "tokenizer.ggml.unknown_token_id");
  // llama.cpp turns BOS on by default for the Llama-3 pre-tokenizer.
  const bool llama3 = v.pre == "llama-bpe" || v.pre == "llama3" || v.pre == "llama-v3";
  v.add_bos = md.get_bool_or("tokenizer.ggml.add_bos_token", llama3);
  v.add_eos = md.get_bool_or("tokenizer.ggml.add_eos_token", false);
  v.chat_template = md.get_string_or("tokenizer.chat_template", "");
  return from_vocab(std::move(v));
}

}  // namespace r1
