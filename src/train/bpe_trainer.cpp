#include "train/bpe_trainer.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "base/atomic_file.hpp"
#include "base/error.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/utf8.hpp"

namespace r1::train {

// Types as llama.cpp's converter gives them in real R1 GGUFs (and as load_hf_vocab
// reads them back): the <｜...｜> role markers are control tokens, <think> and
// </think> user-defined (always matched in text).
std::vector<BpeSpecial> r1_special_tokens() {
  return {{"<｜begin▁of▁sentence｜>", TokenType::control}, {"<｜end▁of▁sentence｜>", TokenType::control},
          {"<｜User｜>", TokenType::control},               {"<｜Assistant｜>", TokenType::control},
          {"<think>", TokenType::user_defined},            {"</think>", TokenType::user_defined}};
}

namespace {

// Cuts every occurrence of a special string out of text; calls fn on the pieces between.
template <class F>
void split_specials(std::string_view text, const std::vector<BpeSpecial>& specials, F&& fn) {
  size_t start = 0, i = 0;
  while (i < text.size()) {
    size_t matched = 0;
    for (const auto& s : specials)
      if (!s.text.empty() && text.compare(i, s.text.size(), s.text) == 0) matched = std::max(matched, s.text.size());
    if (matched) {
      if (i > start) fn(text.substr(start, i - start));
      i += matched;
      start = i;
    } else {
      ++i;
    }
  }
  if (start < text.size()) fn(text.substr(start));
}

}  // namespace

VocabData train_bpe(const std::vector<std::string>& corpus, const BpeTrainOptions& o) {
  const int32_t n_special = static_cast<int32_t>(o.specials.size());
  if (o.vocab_size < 256 + n_special)
    fail("tokenizer train: vocab size {} is below 256 byte tokens + {} special tokens", o.vocab_size, n_special);
  auto pre = tok::PreTokenizer::create(o.pre);

  // Word (pre-tokenizer piece, byte-level text) -> count.
  std::unordered_map<std::string, int64_t> word_count;
  std::vector<tok::Span> spans;
  for (const std::string& doc : corpus) {
    const std::string clean = sanitize_utf8(doc);
    split_specials(clean, o.specials, [&](std::string_view part) {
      spans.clear();
      pre->split(part, 0, &spans);
      for (const tok::Span& s : spans) ++word_count[byte_level::encode(part.substr(s.begin, s.end - s.begin))];
    });
  }

  // Symbols: token ids; token text in byte-level form.
  std::vector<std::string> tok_text;
  for (int b = 0; b < 256; ++b) {
    std::string t;
    utf8::append(t, byte_level::byte_to_cp(static_cast<uint8_t>(b)));
    tok_text.push_back(std::move(t));
  }
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> counts;
  {
    std::vector<std::pair<std::string, int64_t>> sorted(word_count.begin(), word_count.end());
    std::sort(sorted.begin(), sorted.end());  // deterministic order
    for (const auto& [w, c] : sorted) {
      std::vector<int32_t> syms;
      for (uint8_t b : byte_level::decode(w)) syms.push_back(b);
      words.push_back(std::move(syms));
      counts.push_back(c);
    }
  }

  std::vector<std::string> merges;
  const int32_t max_merges = o.vocab_size - 256 - n_special;
  while (static_cast<int32_t>(merges.size()) < max_merges) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pairs;
    for (size_t w = 0; w < words.size(); ++w)
      for (size_t i = 0; i + 1 < words[w].size(); ++i) pairs[{words[w][i], words[w][i + 1]}] += counts[w];
    const std::pair<int32_t, int32_t>* best = nullptr;
    int64_t best_count = 0;
    for (const auto& [p, c] : pairs) {
      if (c > best_count ||
          (c == best_count && best &&
           std::tie(tok_text[p.first], tok_text[p.second]) < std::tie(tok_text[best->first], tok_text[best->second]))) {
        best = &p;
        best_count = c;
      }
    }
    if (!best || best_count < o.min_frequency) break;
    const auto [a, b] = *best;
    const auto id = static_cast<int32_t>(tok_text.size());
    merges.push_back(tok_text[a] + " " + tok_text[b]);
    tok_text.push_back(tok_text[a] + tok_text[b]);
    for (auto& syms : words) {
      size_t out = 0;
      for (size_t i = 0; i < syms.size(); ++i) {
        if (i + 1 < syms.size() && syms[i] == a && syms[i + 1] == b) {
          syms[out++] = id;
          ++i;
        } else {
          syms[out++] = syms[i];
        }
      }
      syms.resize(out);
    }
  }

  VocabData v;
  v.model = "gpt2";
  v.pre = o.pre;
  v.tokens = std::move(tok_text);
  v.types.assign(v.tokens.size(), TokenType::normal);
  v.merges = std::move(merges);
  int n_control = 0;
  for (const BpeSpecial& s : o.specials) {
    const auto id = static_cast<int32_t>(v.tokens.size());
    v.tokens.push_back(s.text);
    v.types.push_back(s.type);
    if (s.type == TokenType::control) {
      if (n_control == 0) v.bos = id;
      if (n_control == 1) v.eos = v.pad = id;
      ++n_control;
    }
  }
  v.add_bos = v.bos >= 0;
  v.chat_template = o.chat_template;
  Tokenizer::from_vocab(v);  // validates
  return v;
}

namespace {

const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

}  // namespace

void save_hf_tokenizer(const VocabData& v, const std::string& path) {
  using json = nlohmann::ordered_json;
  if (v.pre != "qwen2" && v.pre != "deepseek-r1-qwen")
    fail("tokenizer.json export supports the qwen2 pre-tokenizer, not '{}'", v.pre);
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const TokenType t = v.types.empty() ? TokenType::normal : v.types[i];
    if (t == TokenType::control || t == TokenType::user_defined)
      added.push_back({{"id", i}, {"content", v.tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", t == TokenType::control}});
    else
      vocab[v.tokens[i]] = i;
  }
  json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"}, {"pattern", {{"Regex", kQwen2Regex}}}, {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                       {"use_regex", false}}})}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
        {"vocab", vocab}, {"merges", v.merges}}},
  };
  write_file_atomic(path, j.dump(1) + "\n");
  auto tok = [&](int32_t id) { return id >= 0 ? json(v.tokens[static_cast<size_t>(id)]) : json(nullptr); };
  json cfg = {{"add_bos_token", v.add_bos}, {"add_eos_token", v.add_eos}, {"bos_token", tok(v.bos)},
              {"eos_token", tok(v.eos)},    {"pad_token", tok(v.pad)},    {"unk_token", tok(v.unk)},
              {"tokenizer_class", "LlamaTokenizerFast"}};
  if (!v.chat_template.empty()) cfg["chat_template"] = v.chat_template;
  write_file_atomic((std::filesystem::path(path).parent_path() / "tokenizer_config.json").string(), cfg.dump(1) + "\n");
}

void save_vocab_gguf(const VocabData& v, const std::string& path) {
  using gguf::Value;
  gguf::Writer w;
  w.set("general.architecture", Value::from_string("qwen2"));
  w.set("general.name", Value::from_string("r1-tokenizer"));
  write_vocab_metadata(w, v, static_cast<int64_t>(v.tokens.size()));
  w.write(path);
}

VocabData load_vocab_file(const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".gguf") return Tokenizer::from_gguf(gguf::File::open(path)->metadata())->vocab();
  if (ext == ".json") return load_hf_vocab(path);
  fail("'{}': expected a .gguf or a tokenizer .json file", path);
}

}  // namespace r1::train
