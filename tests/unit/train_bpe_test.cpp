// BPE training: merges computed by hand on small corpora, the engine's tokenizer
// reproducing the learned segmentation, specials, and the saved formats.
#include <gtest/gtest.h>

#include <filesystem>

#include "base/error.hpp"
#include "train/bpe_trainer.hpp"

using namespace r1;
using namespace r1::train;
namespace fs = std::filesystem;

TEST(TrainBpe, MergesByHand) {
  // Pieces (qwen2 split): "ab", " ab", " ab", " abc" -> byte-level "ab", "Ġab" x2, "Ġabc".
  // Pair counts: (a,b) 4, (Ġ,a) 3, (b,c) 1 -> "a b"; then (Ġ,ab) 3, (ab,c) 1 -> "Ġ ab";
  // then only (Ġab,c) once, below min_frequency 2.
  BpeTrainOptions o;
  o.vocab_size = 300;
  const VocabData v = train_bpe({"ab ab ab abc"}, o);
  ASSERT_EQ(v.merges, (std::vector<std::string>{"a b", "Ġ ab"}));
  ASSERT_EQ(v.tokens.size(), 256u + 2 + 6);
  EXPECT_EQ(v.tokens[256], "ab");
  EXPECT_EQ(v.tokens[257], "Ġab");
  EXPECT_EQ(v.tokens['a'], "a");
  EXPECT_EQ(v.tokens[' '], "Ġ");
  EXPECT_EQ(v.tokens[v.bos], "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(v.tokens[v.eos], "<｜end▁of▁sentence｜>");
  EXPECT_EQ(v.types[v.bos], TokenType::control);
  EXPECT_EQ(v.types[v.tokens.size() - 1], TokenType::user_defined);  // </think>
  EXPECT_EQ(v.pad, v.eos);
  EXPECT_TRUE(v.add_bos);
  auto tok = Tokenizer::from_vocab(v);
  EXPECT_EQ(tok->encode("ab ab abc", false, false), (std::vector<int32_t>{256, 257, 257, 'c'}));
}

TEST(TrainBpe, VocabSizeCapsMergesAndTiesAreDeterministic) {
  // "xy" and "zw" both occur 3 times; with room for one merge the lexicographically
  // smaller pair (x,y) < (z,w) wins.
  BpeTrainOptions o;
  o.vocab_size = 256 + 6 + 1;
  const VocabData v = train_bpe({"zw xy", "zw xy", "zw xy"}, o);
  // Pairs: (z,w) 3, (Ġ,x) 3, (x,y) 3: "Ġ" (U+0120) sorts after ASCII, so (x,y) < (z,w) < (Ġ,x).
  EXPECT_EQ(v.merges, (std::vector<std::string>{"x y"}));
  BpeTrainOptions small;
  small.vocab_size = 100;
  EXPECT_THROW(train_bpe({"a"}, small), Error);
  BpeTrainOptions bad_pre;
  bad_pre.pre = "no-such-pre";
  EXPECT_THROW(train_bpe({"a"}, bad_pre), Error);
}

TEST(TrainBpe, SpecialsAreCutOutAndDigitsStaySingle) {
  BpeTrainOptions o;
  o.vocab_size = 400;
  std::vector<std::string> corpus;
  for (int i = 0; i < 20; ++i)
    corpus.push_back("<｜User｜>What is 12 + 345?<｜Assistant｜><think>\nAdd the ones: 2 + 5 = 7.\n</think>\n\n\\boxed{357}<｜end▁of▁sentence｜>");
  const VocabData v = train_bpe(corpus, o);
  for (const auto& m : v.merges) {
    EXPECT_EQ(m.find("｜"), std::string::npos) << m;  // nothing learned from the special strings
    EXPECT_EQ(m.find("think>"), std::string::npos) << m;
  }
  auto tok = Tokenizer::from_vocab(v);
  const std::string text = "<｜User｜>What is 12 + 345?<｜Assistant｜><think>\nAdd the ones</think>";
  const std::vector<int32_t> ids = tok->encode(text, false, true);
  EXPECT_EQ(ids.front(), tok->find_token("<｜User｜>"));
  EXPECT_EQ(ids.back(), tok->find_token("</think>"));
  EXPECT_EQ(tok->decode(ids), text);
  // Every digit is its own token (the qwen2 pre-tokenizer splits numbers into digits).
  const std::vector<int32_t> num = tok->encode("98765", false, false);
  EXPECT_EQ(num, (std::vector<int32_t>{'9', '8', '7', '6', '5'}));
  // Learned words are single tokens.
  EXPECT_EQ(tok->encode(" the", false, false).size(), 1u);
  // Round trip of text the corpus never saw (bytes always work).
  const std::string odd = "Zebra ✓ 東京 \t\n tabs";
  EXPECT_EQ(tok->decode(tok->encode(odd, false, false)), odd);
}

TEST(TrainBpe, SavedFormatsLoadBackIdentically) {
  BpeTrainOptions o;
  o.vocab_size = 320;
  o.chat_template = "{{ bos_token }}{{ messages[0]['content'] }}";
  const VocabData v = train_bpe({"the quick brown fox jumps over the lazy dog; the end. 3 + 4 = 7"}, o);
  const fs::path dir = fs::path(R1_BINARY_DIR) / "train_bpe_tmp";
  fs::create_directories(dir);
  save_hf_tokenizer(v, (dir / "tokenizer.json").string());
  save_vocab_gguf(v, (dir / "tok.gguf").string());
  for (const char* name : {"tokenizer.json", "tok.gguf"}) {
    const VocabData back = load_vocab_file((dir / name).string());
    EXPECT_EQ(back.tokens, v.tokens) << name;
    EXPECT_EQ(back.merges, v.merges) << name;
    EXPECT_EQ(back.bos, v.bos) << name;
    EXPECT_EQ(back.eos, v.eos) << name;
    EXPECT_EQ(back.add_bos, v.add_bos) << name;
    EXPECT_EQ(back.chat_template, v.chat_template) << name;
    for (size_t i = 0; i < v.tokens.size(); ++i) EXPECT_EQ(back.types[i], v.types[i]) << name << " token " << i;
    auto a = Tokenizer::from_vocab(v), b = Tokenizer::from_vocab(back);
    const std::string s = "<think>the lazy fox</think> 12 + 30 = 42";
    EXPECT_EQ(a->encode(s, true, true), b->encode(s, true, true)) << name;
  }
  EXPECT_THROW(load_vocab_file((dir / "x.txt").string()), Error);
}
