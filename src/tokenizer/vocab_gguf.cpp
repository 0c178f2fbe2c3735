// Tokenizer::from_gguf: reads the tokenizer.ggml.* metadata keys (the names
// llama.cpp uses) into a VocabData, and types tokens the way llama.cpp does when
// it loads the same file, so that a GGUF tokenizes as in llama.cpp.
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

int32_t id_or(const gguf::Metadata& md, std::string_view key) {
  const int64_t v = md.get_int_or(key, -1);
  if (v < -1 || v > INT32_MAX) fail("metadata {} = {} is not a valid token id", key, v);
  return static_cast<int32_t>(v);
}

// Texts that llama.cpp (llama-vocab.cpp, vocabulary load) turns into control
// tokens wherever they occur in a vocabulary, added or normal: its
// end-of-generation markers, and the fill-in-the-middle markers of each kind
// whose id the file does not give (tokenizer.ggml.fim_*_token_id or the older
// prefix/suffix/middle_token_id).
constexpr std::string_view kLlamaEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
    "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
};
struct FimKind {
  std::vector<std::string_view> keys;    // metadata keys that, when one is present, disable the text rule
  std::vector<std::string_view> texts;
};
const std::vector<FimKind>& llama_fim_kinds() {
  static const std::vector<FimKind> k = {
      {{"tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"},
       {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>",
        "<|prefix|>"}},
      {{"tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"},
       {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>",
        "<|suffix|>"}},
      {{"tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"},
       {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>",
        "<|middle|>"}},
      {{"tokenizer.ggml.fim_pad_token_id"}, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
      {{"tokenizer.ggml.fim_rep_token_id"}, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
      {{"tokenizer.ggml.fim_sep_token_id"}, {"<|file_sep|>"}},
  };
  return k;
}

// Applies llama.cpp's load-time re-typing by token text (see kLlamaEogTexts),
// then its exceptions: gpt-oss's <|channel|> <|message|> <|start|> <|constrain|>
// become user-defined; <|end|> is user-defined when <|call|>/<|calls|> appear with
// <|return|> or <|flush|>; </s> stays normal when <|tool_response> is present.
// Like llama.cpp, only the last token with a given text is looked at. A token
// that is not user-defined is re-typed only when its text is printable ASCII
// (then its byte-level spelling is the text itself: e.g. Qwen's normal "</s>",
// id 128247). llama.cpp applies each FIM rule to the first matching text only;
// real vocabularies hold at most one text of each kind, so all are applied here.
void apply_llama_retyping(VocabData& v, const gguf::Metadata& md) {
  if (v.types.empty()) v.types.assign(v.tokens.size(), TokenType::normal);
  std::unordered_map<std::string_view, size_t> last_id;
  last_id.reserve(v.tokens.size());
  for (size_t i = 0; i < v.tokens.size(); ++i) last_id[v.tokens[i]] = i;
  const auto type_of = [&](std::string_view text) -> TokenType* {
    auto it = last_id.find(text);
    return it == last_id.end() ? nullptr : &v.types[it->second];
  };
  const auto make_control = [&](std::string_view text) {
    TokenType* t = type_of(text);
    if (t == nullptr || *t == TokenType::control) return;
    bool ascii = true;
    for (unsigned char c : text) ascii &= c >= 0x21 && c <= 0x7E;
    if (*t == TokenType::user_defined || ascii) *t = TokenType::control;
  };
  const auto set_type = [&](std::string_view text, TokenType type) {
    if (TokenType* t = type_of(text)) *t = type;
  };
  for (auto t : kLlamaEogTexts) make_control(t);
  for (const auto& kind : llama_fim_kinds()) {
    bool given = false;
    for (auto key : kind.keys) given |= md.get_int_or(key, -1) >= 0;
    if (!given)
      for (auto t : kind.texts) make_control(t);
  }
  for (auto t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) set_type(t, TokenType::user_defined);
  const bool has_call = type_of("<|call|>") || type_of("<|calls|>");
  if (has_call && (type_of("<|return|>") || type_of("<|flush|>"))) set_type("<|end|>", TokenType::user_defined);
  if (type_of("<|tool_response>")) set_type("</s>", TokenType::normal);
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_gguf(const gguf::Metadata& md) {
  VocabData v;
  v.model = md.get_string_or("tokenizer.ggml.model", "");
  if (v.model.empty()) fail("model file has no tokenizer (metadata tokenizer.ggml.model is missing)");
  // A missing (or empty) pre name means llama.cpp's "default" pre-tokenizer (it warns).
  v.pre = md.get_string_or("tokenizer.ggml.pre", "");
  if (v.pre.empty()) v.pre = "default";
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
  apply_llama_retyping(v, md);
  v.merges = md.get_strings("tokenizer.ggml.merges");
  if (v.model == "gpt2" && v.merges.empty()) fail("model file has no tokenizer.ggml.merges");
  v.bos = id_or(md, "tokenizer.ggml.bos_token_id");
  v.eos = id_or(md, "tokenizer.ggml.eos_token_id");
  v.eot = id_or(md, "tokenizer.ggml.eot_token_id");
  v.pad = id_or(md, "tokenizer.ggml.padding_token_id");
  v.unk = id_or(md, "tokenizer.ggml.unknown_token_id");
  // llama.cpp turns BOS on by default for the Llama-3 pre-tokenizer (any of its names).
  const bool llama3 = tok::PreTokenizer::canonical_name(v.pre) == "llama-bpe";
  v.add_bos = md.get_bool_or("tokenizer.ggml.add_bos_token", llama3);
  v.add_eos = md.get_bool_or("tokenizer.ggml.add_eos_token", false);
  v.chat_template = md.get_string_or("tokenizer.chat_template", "");
  return from_vocab(std::move(v));
}

void pad_vocab(VocabData& v, int64_t n_vocab) {
  if (v.types.empty()) v.types.assign(v.tokens.size(), TokenType::normal);
  if (static_cast<int64_t>(v.tokens.size()) > n_vocab)
    fail("the tokenizer has {} tokens but the model only {} embedding rows", v.tokens.size(), n_vocab);
  for (int64_t i = static_cast<int64_t>(v.tokens.size()); i < n_vocab; ++i) {
    v.tokens.push_back(fmt::format("[PAD{}]", i));
    v.types.push_back(TokenType::unused);
  }
}

void write_vocab_metadata(gguf::Writer& w, VocabData v, int64_t n_vocab) {
  using gguf::Value;
  pad_vocab(v, n_vocab);
  w.set("tokenizer.ggml.model", Value::from_string(v.model));
  w.set("tokenizer.ggml.pre", Value::from_string(v.pre));
  w.set("tokenizer.ggml.tokens", Value::from_strings(v.tokens));
  std::vector<int32_t> types;
  for (TokenType t : v.types) types.push_back(static_cast<int32_t>(t));
  w.set("tokenizer.ggml.token_type", Value::from_i32s(types));
  w.set("tokenizer.ggml.merges", Value::from_strings(v.merges));
  auto id = [&](const char* key, int32_t value) {
    if (value >= 0) w.set(key, Value::from_u32(static_cast<uint32_t>(value)));
  };
  id("tokenizer.ggml.bos_token_id", v.bos);
  id("tokenizer.ggml.eos_token_id", v.eos);
  id("tokenizer.ggml.eot_token_id", v.eot);
  id("tokenizer.ggml.padding_token_id", v.pad);
  id("tokenizer.ggml.unknown_token_id", v.unk);
  w.set("tokenizer.ggml.add_bos_token", Value::from_bool(v.add_bos));
  w.set("tokenizer.ggml.add_eos_token", Value::from_bool(v.add_eos));
  if (!v.chat_template.empty()) w.set("tokenizer.chat_template", Value::from_string(v.chat_template));
}

}  // namespace r1
