// Hostile or broken tokenizer.json / tokenizer_config.json files: each must load
// with a clear r1::Error (naming the file and the problem) instead of writing out
// of bounds, recursing without limit, allocating gigabytes or escaping as a
// nlohmann exception. The valid cases are hand-checked.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/error.hpp"
#include "tokenizer/tokenizer.hpp"
#include "tokenizer_test_helpers.hpp"

using r1::Tokenizer;
namespace fs = std::filesystem;

namespace {

// {"a": 0, "b": 1, "ab": 2} with the merge "a b" and <s> = 3 (special), unless
// `vocab` / `added` / `pre` replace those parts.
std::string tokenizer_json(const std::string& vocab = R"({"a": 0, "b": 1, "ab": 2})",
                           const std::string& added = R"([{"id": 3, "content": "<s>", "special": true}])",
                           const std::string& pre = R"({"type": "ByteLevel", "add_prefix_space": false})",
                           const std::string& merges = R"(["a b"])") {
  return R"({"added_tokens": )" + added + R"(, "pre_tokenizer": )" + pre + R"(, "model": {"type": "BPE", "vocab": )" +
         vocab + R"(, "merges": )" + merges + "}}";
}

// Writes tokenizer.json (and tokenizer_config.json unless config is empty) to a
// fresh directory and loads it the way `r1 tokenize --tokenizer` does.
std::unique_ptr<Tokenizer> load(const std::string& json, const std::string& config = "") {
  static int counter = 0;
  const fs::path dir = fs::temp_directory_path() /
                       ("r1_hf_hostile_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json", std::ios::binary) << json;
  if (!config.empty()) std::ofstream(dir / "tokenizer_config.json", std::ios::binary) << config;
  struct Cleanup {
    fs::path d;
    ~Cleanup() { fs::remove_all(d); }
  } cleanup{dir};
  return Tokenizer::from_hf_json((dir / "tokenizer.json").string());
}

// The r1::Error message of loading ("" when it loaded). Any other exception
// escapes and fails the test.
std::string error_of(const std::string& json, const std::string& config = "") {
  try {
    load(json, config);
  } catch (const r1::Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::string& json, const std::string& config, std::initializer_list<const char*> parts) {
  r1::test::expect_message(error_of(json, config), parts, json + " / " + config);
}

using r1::test::repeat;

}  // namespace

TEST(TokenizerHfHostile, SmallValidFileLoads) {
  auto t = load(tokenizer_json());
  EXPECT_EQ(t->n_vocab(), 4);
  EXPECT_EQ(t->encode("ab<s>ba", false, true), (std::vector<int32_t>{2, 3, 1, 0}));
  EXPECT_EQ(t->decode({2, 3, 1}), "ab<s>b");
}

// An id of 2^63-1 made the vocabulary size overflow, and the token was then
// written far outside the vector.
TEST(TokenizerHfHostile, IdsOutsideTheVocabularyRange) {
  expect_error(tokenizer_json(R"({"a": 0, "b": 9223372036854775807})"), "", {"tokenizer.json", "9223372036854775807"});
  expect_error(tokenizer_json(R"({"a": 0, "b": 18446744073709551615})"), "", {"18446744073709551615", "outside"});
  expect_error(tokenizer_json(R"({"a": -1})"), "", {"-1"});
  expect_error(tokenizer_json(R"({"a": 0, "b": 1e300})"), "", {"not an integer"});
  expect_error(tokenizer_json(R"({"a": 0, "b": "1"})"), "", {"not an integer"});
  expect_error(tokenizer_json(R"({"a": 0})", R"([{"id": 9223372036854775807, "content": "<s>"}])"), "",
               {"added token '<s>'", "outside"});
  // A gap of 10 million unused ids would allocate gigabytes of "[PAD<id>]" texts.
  expect_error(tokenizer_json(R"({"a": 0, "b": 10000000})"), "", {"unused ids"});
}

TEST(TokenizerHfHostile, SmallGapsArePadded) {
  auto t = load(tokenizer_json(R"({"a": 0, "b": 1, "ab": 1000})"));
  EXPECT_EQ(t->n_vocab(), 1001);
  EXPECT_EQ(t->vocab().tokens[500], "[PAD500]");
  EXPECT_EQ(t->encode("ab", false, true), (std::vector<int32_t>{1000}));
}

TEST(TokenizerHfHostile, DuplicateIds) {
  expect_error(tokenizer_json(R"({"a": 0, "b": 0})", "[]"), "", {"token id 0 is given to both"});
  expect_error(tokenizer_json(R"({"a": 0})", R"([{"id": 1, "content": "<x>"}, {"id": 1, "content": "<y>"}])"), "",
               {"added token id 1", "<x>", "<y>"});
  // An added token may take over a model id (as DeepSeek's files do).
  auto t = load(tokenizer_json(R"({"a": 0, "b": 1})", R"([{"id": 1, "content": "<x>", "special": true}])"));
  EXPECT_EQ(t->find_token("<x>"), 1);
}

// Sequence inside Sequence recursed once per level.
TEST(TokenizerHfHostile, NestedSequencePreTokenizers) {
  const int n = 100000;
  const std::string deep = repeat(R"({"type": "Sequence", "pretokenizers": [)", n) +
                           R"({"type": "ByteLevel", "add_prefix_space": false})" + repeat("]}", n);
  expect_error(tokenizer_json(R"({"a": 0})", "[]", deep), "", {"Sequence deeper than 16"});
  const std::string two = R"({"type": "Sequence", "pretokenizers": [{"type": "Sequence", "pretokenizers": [)"
                          R"({"type": "ByteLevel", "add_prefix_space": false}]}]})";
  EXPECT_EQ(load(tokenizer_json(R"({"a": 0})", "[]", two))->vocab().pre, "gpt-2");
}

TEST(TokenizerHfHostile, WrongJsonTypesInTokenizerJson) {
  expect_error("[1, 2]", "", {"not a JSON object"});
  expect_error("{\"model\": 5}", "", {"model"});
  expect_error(tokenizer_json(R"([1, 2])"), "", {"vocab"});
  expect_error(tokenizer_json(R"({"a": 0})", "5"), "", {"added_tokens"});
  expect_error(tokenizer_json(R"({"a": 0})", R"([{"id": 1}])"), "", {"content"});
  expect_error(tokenizer_json(R"({"a": 0})", R"([{"id": 1, "content": "<x>", "special": "yes"}])"), "",
               {"special must be true or false"});
  expect_error(tokenizer_json(R"({"a": 0})", "[]", "5"), "", {"pre-tokenizer"});
  expect_error(tokenizer_json(R"({"a": 0})", "[]", R"({"type": "Sequence", "pretokenizers": 5})"), "", {"list"});
  expect_error(tokenizer_json(R"({"a": 0})", "[]", R"({"type": "ByteLevel", "add_prefix_space": false})", "5"), "",
               {"merges"});
  expect_error(tokenizer_json(R"({"a": 0})", "[]", R"({"type": "ByteLevel", "add_prefix_space": false})", R"([["a", 1]])"),
               "", {"pair of strings"});
  expect_error("{\"normalizer\": [1], " + tokenizer_json().substr(1), "", {"normalizer"});
  expect_error("not json", "", {"invalid JSON"});
}

TEST(TokenizerHfHostile, WrongJsonTypesInTokenizerConfig) {
  const std::string j = tokenizer_json();
  expect_error(j, "[]", {"tokenizer_config.json", "not a JSON object"});
  expect_error(j, R"({"add_bos_token": "yes"})", {"tokenizer_config.json", "add_bos_token must be true or false"});
  expect_error(j, R"({"bos_token": 5})", {"bos_token must be a string"});
  expect_error(j, R"({"bos_token": {"content": 5}})", {"bos_token"});
  expect_error(j, R"({"bos_token": "<nope>"})", {"'<nope>' is not in the vocabulary"});
  expect_error(j, R"({"chat_template": 5})", {"chat_template"});
  expect_error(j, R"({"chat_template": [1]})", {"chat_template entry"});
  expect_error(j, R"({"chat_template": [{"name": "default", "template": 5}]})", {"chat_template entry"});
  expect_error(j, "{", {"tokenizer_config.json", "invalid JSON"});
}

TEST(TokenizerHfHostile, ConfigSpecialTokensAndTemplates) {
  const std::string j = tokenizer_json();
  auto t = load(j, R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "b", "add_bos_token": true,
                       "chat_template": "T"})");
  EXPECT_EQ(t->bos(), 3);
  EXPECT_EQ(t->eos(), 1);
  EXPECT_TRUE(t->vocab().add_bos);
  EXPECT_EQ(t->vocab().chat_template, "T");
  EXPECT_EQ(load(j, R"({"chat_template": [{"name": "tool_use", "template": "U"}, {"name": "default", "template": "D"}]})")
                ->vocab().chat_template,
            "D");
  EXPECT_EQ(load(j, R"({"chat_template": [{"name": "x", "template": "X"}, {"name": "y", "template": "Y"}]})")
                ->vocab().chat_template,
            "X");
  EXPECT_EQ(load(j, R"({"bos_token": null, "chat_template": null})")->bos(), -1);
}
