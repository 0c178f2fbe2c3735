// Hugging Face tokenizer.json (+ tokenizer_config.json) loader.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/error.hpp"
#include "tokenizer/bpe_tokenizer.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1 {
namespace {

using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("cannot open {}", path);
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", path, e.what());
  }
}

// Writes real CR / LF as the two-character escapes, so that patterns written
// either way in tokenizer.json compare equal.
std::string canon_regex(std::string r) {
  std::string out;
  for (char c : r) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// The split regexes of the pre-tokenizers we know, as tokenizer.json spells them.
struct KnownPre {
  const char* name;
  std::vector<std::string> regexes;
};
const std::vector<KnownPre>& known_pres() {
  static const std::vector<KnownPre> k = {
      {"qwen2",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"llama-bpe",
       {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"deepseek-v3",
       {R"(\p{N}{1,3})", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
        R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      {"gpt-2", {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}},
  };
  return k;
}

void collect_splits(const json& pt, const std::string& path, std::vector<std::string>* regexes, bool* byte_level) {
  const std::string type = pt.value("type", "");
  if (type == "Sequence") {
    for (const auto& p : pt.at("pretokenizers")) collect_splits(p, path, regexes, byte_level);
  } else if (type == "Split") {
    const auto& pat = pt.at("pattern");
    if (!pat.contains("Regex")) fail("{}: Split pre-tokenizer with a non-regex pattern is not supported", path);
    std::string behavior = pt.value("behavior", "");
    if (behavior != "Isolated" || pt.value("invert", false))
      fail("{}: Split pre-tokenizer with behavior '{}' is not supported (only Isolated)", path, behavior);
    regexes->push_back(canon_regex(pat.at("Regex").get<std::string>()));
  } else if (type == "ByteLevel") {
    if (pt.value("add_prefix_space", false))
      fail("{}: ByteLevel pre-tokenizer with add_prefix_space is not supported", path);
    if (pt.value("use_regex", true)) regexes->push_back(canon_regex(known_pres().back().regexes[0]));
    *byte_level = true;
  } else {
    fail("{}: pre-tokenizer type '{}' is not supported", path, type);
  }
}

std::string recognise_pre(const json& j, const std::string& path) {
  if (!j.contains("pre_tokenizer") || j["pre_tokenizer"].is_null())
    fail("{}: no pre_tokenizer (only byte-level BPE tokenizers are supported)", path);
  std::vector<std::string> regexes;
  bool byte_level = false;
  collect_splits(j["pre_tokenizer"], path, &regexes, &byte_level);
  if (!byte_level) fail("{}: pre_tokenizer has no ByteLevel step (not a byte-level BPE tokenizer)", path);
  for (const auto& k : known_pres()) {
    std::vector<std::string> want;
    for (const auto& r : k.regexes) want.push_back(canon_regex(r));
    if (want == regexes) return k.name;
  }
  std::string list;
  for (const auto& r : regexes) list += (list.empty() ? "" : " ; ") + r;
  fail("{}: unrecognised pre_tokenizer regexes [{}]; known: qwen2, llama-bpe, deepseek-v3, gpt-2", path, list);
}

bool normalizer_is_nfc(const json& j, const std::string& path) {
  if (!j.contains("normalizer") || j["normalizer"].is_null()) return false;
  const json& n = j["normalizer"];
  const std::string type = n.value("type", "");
  if (type == "NFC") return true;
  if (type == "Sequence") {
    bool nfc = false;
    for (const auto& s : n.at("normalizers")) {
      if (s.value("type", "") != "NFC") fail("{}: normalizer '{}' is not supported", path, s.value("type", ""));
      nfc = true;
    }
    return nfc;
  }
  fail("{}: normalizer '{}' is not supported (only NFC or none)", path, type);
}

// A special-token entry of tokenizer_config.json: "text", {"content": "text"} or null.
std::string config_token(const json& cfg, const char* key) {
  if (!cfg.contains(key) || cfg[key].is_null()) return {};
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return {};
}

struct HfLoaded {
  VocabData vocab;
  tok::HfExtras extras;
};

HfLoaded load_hf(const std::string& path) {
  const json j = read_json(path);
  HfLoaded out;
  VocabData& v = out.vocab;
  try {
    const json& m = j.at("model");
    if (m.value("type", "BPE") != "BPE") fail("{}: model type '{}' is not supported (only BPE)", path, m.value("type", ""));
    if (m.value("byte_fallback", false)) fail("{}: BPE with byte_fallback is not supported", path);
    for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (m.contains(k) && m[k].is_string() && !m[k].get<std::string>().empty())
        fail("{}: BPE option {} is not supported", path, k);
    v.model = "gpt2";
    v.pre = recognise_pre(j, path);
    out.extras.nfc = normalizer_is_nfc(j, path);
    out.extras.ignore_merges = m.value("ignore_merges", false) ? 1 : 0;

    // Ids: the model vocabulary, then added tokens (which may reuse model ids).
    const json& vocab = m.at("vocab");
    int64_t n = 0;
    for (const auto& [text, id] : vocab.items()) n = std::max<int64_t>(n, id.get<int64_t>() + 1);
    const json added = j.value("added_tokens", json::array());
    for (const auto& a : added) n = std::max<int64_t>(n, a.at("id").get<int64_t>() + 1);
    if (n <= 0 || n > (int64_t(1) << 30)) fail("{}: bad vocabulary size {}", path, n);
    v.tokens.assign(n, std::string());
    v.types.assign(n, TokenType::unused);
    std::vector<bool> set(n, false);
    for (const auto& [text, id] : vocab.items()) {
      const int64_t i = id.get<int64_t>();
      if (i < 0) fail("{}: negative token id for '{}'", path, text);
      v.tokens[i] = text;
      v.types[i] = TokenType::normal;
      set[i] = true;
    }
    for (const auto& a : added) {
      const int64_t i = a.at("id").get<int64_t>();
      if (i < 0) fail("{}: negative added-token id", path);
      v.tokens[i] = a.at("content").get<std::string>();
      v.types[i] = a.value("special", false) ? TokenType::control : TokenType::user_defined;
      set[i] = true;
      out.extras.added.push_back({static_cast<int32_t>(i), a.value("lstrip", false), a.value("rstrip", false),
                                  a.value("single_word", false)});
    }
    for (int64_t i = 0; i < n; ++i)
      if (!set[i]) v.tokens[i] = "[PAD" + std::to_string(i) + "]";

    for (const auto& mg : m.at("merges")) {
      if (mg.is_string()) {
        v.merges.push_back(mg.get<std::string>());
      } else {
        if (!mg.is_array() || mg.size() != 2) fail("{}: a merge is neither a string nor a pair", path);
        v.merges.push_back(mg[0].get<std::string>() + " " + mg[1].get<std::string>());
      }
    }
  } catch (const json::exception& e) {
    fail("{}: unexpected tokenizer.json structure: {}", path, e.what());
  }

  // tokenizer_config.json beside it: special tokens, BOS/EOS flags, chat template.
  const auto cfg_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    const json cfg = read_json(cfg_path.string());
    const auto lookup = [&](const char* key) -> int32_t {
      const std::string t = config_token(cfg, key);
      if (t.empty()) return -1;
      // Added tokens take precedence over model tokens with the same text.
      for (int64_t i = static_cast<int64_t>(v.tokens.size()) - 1; i >= 0; --i)
        if (v.types[i] != TokenType::normal && v.tokens[i] == t) return static_cast<int32_t>(i);
      for (size_t i = 0; i < v.tokens.size(); ++i)
        if (v.tokens[i] == t) return static_cast<int32_t>(i);
      fail("{}: {} '{}' is not in the vocabulary", cfg_path.string(), key, t);
    };
    v.bos = lookup("bos_token");
    v.eos = lookup("eos_token");
    v.pad = lookup("pad_token");
    v.unk = lookup("unk_token");
    v.add_bos = cfg.value("add_bos_token", false) && v.bos >= 0;
    v.add_eos = cfg.value("add_eos_token", false) && v.eos >= 0;
    if (cfg.contains("chat_template")) {
      const json& ct = cfg["chat_template"];
      if (ct.is_string()) {
        v.chat_template = ct.get<std::string>();
      } else if (ct.is_array()) {  // [{"name": ..., "template": ...}]: take "default", else the first
        for (const auto& e : ct)
          if (e.value("name", "") == "default" || v.chat_template.empty())
            v.chat_template = e.value("template", "");
      }
    }
  }
  return out;
}

// Whether llama.cpp's converter (convert_hf_to_gguf.py, does_token_look_special)
// would store an added token that tokenizer.json does not flag special as a
// control token anyway: "<|...|>", "<｜...｜>" (DeepSeek), "<unused...>" and a
// few fixed names.
bool looks_special(std::string_view t) {
  const auto wrapped = [&](std::string_view open, std::string_view close) {
    return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<｜", "｜>") || wrapped("<unused", ">");
}

}  // namespace

// As GGUF stores it, typed the way llama.cpp's converter types added tokens:
// special or special-looking -> control, others -> user-defined with U+2581
// replaced by a space (the converter's "pre-normalize user-defined spaces").
// Matters for parse_special == false only: <｜User｜> is special=false in
// DeepSeek's tokenizer.json (always matched by Hugging Face) but control in
// every GGUF converted by llama.cpp (not matched without special parsing).
VocabData load_hf_vocab(const std::string& tokenizer_json_path) {
  HfLoaded h = load_hf(tokenizer_json_path);
  VocabData& v = h.vocab;
  for (const auto& a : h.extras.added) {
    if (v.types[a.id] != TokenType::user_defined) continue;
    std::string& text = v.tokens[a.id];
    if (looks_special(text)) {
      v.types[a.id] = TokenType::control;
      continue;
    }
    for (size_t p; (p = text.find("▁")) != std::string::npos;) text.replace(p, std::string_view("▁").size(), " ");
  }
  return std::move(h.vocab);
}

std::unique_ptr<Tokenizer> Tokenizer::from_hf_json(const std::string& tokenizer_json_path) {
  HfLoaded h = load_hf(tokenizer_json_path);
  return std::make_unique<tok::BpeTokenizer>(std::move(h.vocab), h.extras);
}

}  // namespace r1
