// Writes the seed corpus of tokenizer_fuzz into DIR: small valid tokenizer.json
// files (256 byte tokens, a few merges and added tokens) for each pre-tokenizer
// the loader recognises, each followed by a NUL byte and a tokenizer_config.json
// (special tokens as strings or objects, chat_template as a string or a list of
// named templates), plus a few without a config.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/byte_level.hpp"

using nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

// The split regexes as the real tokenizer.json files spell them.
const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kLlama =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char* kDeepSeek[] = {
    R"(\p{N}{1,3})", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"};

ordered_json split(const char* regex) {
  return {{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}};
}
ordered_json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

// 256 byte tokens, then merges building "He", "ll", "Hell", "Hello", "Ġw", "or".
ordered_json model(bool ignore_merges) {
  ordered_json vocab = ordered_json::object();
  for (int b = 0; b < 256; ++b) vocab[r1::byte_level::encode(std::string(1, char(b)))] = b;
  const char* merges[][2] = {{"H", "e"}, {"l", "l"}, {"He", "ll"}, {"Hell", "o"}, {"Ġ", "w"}, {"o", "r"}};
  ordered_json m = ordered_json::array();
  int id = 256;
  for (auto& mg : merges) {
    vocab[std::string(mg[0]) + mg[1]] = id++;
    m.push_back(std::string(mg[0]) + " " + mg[1]);
  }
  return {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"ignore_merges", ignore_merges},
          {"byte_fallback", false}, {"vocab", vocab}, {"merges", m}};
}

ordered_json added(int first_id, std::vector<std::pair<std::string, bool>> tokens, bool flags = false) {
  ordered_json a = ordered_json::array();
  for (const auto& [text, special] : tokens)
    a.push_back({{"id", first_id++}, {"content", text}, {"single_word", flags}, {"lstrip", flags},
                 {"rstrip", flags}, {"normalized", false}, {"special", special}});
  return a;
}

void write(const fs::path& p, const ordered_json& tok, const ordered_json* cfg) {
  std::string bytes = tok.dump();
  if (cfg) {
    bytes += '\0';
    bytes += cfg->dump();
  }
  std::ofstream(p, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const fs::path dir = argv[1];
  fs::create_directories(dir);

  ordered_json gpt2 = {{"version", "1.0"}, {"added_tokens", added(262, {{"<|endoftext|>", true}})},
                       {"normalizer", nullptr}, {"pre_tokenizer", byte_level(true)}, {"model", model(false)}};
  write(dir / "gpt2", gpt2, nullptr);
  const ordered_json gpt2_cfg = {{"bos_token", "<|endoftext|>"}, {"eos_token", "<|endoftext|>"},
                                 {"add_bos_token", false}, {"chat_template", "{{ messages[0].content }}"}};
  write(dir / "gpt2_cfg", gpt2, &gpt2_cfg);

  ordered_json qwen = {{"added_tokens", added(262, {{"<|endoftext|>", true}, {"<|im_start|>", true},
                                                    {"<|im_end|>", true}, {"<think>", false}, {"</think>", false}})},
                       {"normalizer", {{"type", "NFC"}}},
                       {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {split(kQwen2), byte_level(false)}}}},
                       {"model", model(false)}};
  const ordered_json qwen_cfg = {
      {"eos_token", {{"content", "<|im_end|>"}, {"lstrip", false}, {"special", true}}},
      {"pad_token", "<|endoftext|>"},
      {"chat_template",
       "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
       "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"}};
  write(dir / "qwen2", qwen, &qwen_cfg);

  ordered_json llama = {{"added_tokens", added(262, {{"<|begin_of_text|>", true}, {"<|eot_id|>", true}})},
                        {"normalizer", nullptr},
                        {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {split(kLlama), byte_level(false)}}}},
                        {"model", model(true)}};
  const ordered_json llama_cfg = {{"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|eot_id|>"},
                                  {"add_bos_token", true}, {"add_eos_token", false}};
  write(dir / "llama_bpe", llama, &llama_cfg);

  ordered_json deepseek_pre = {{"type", "Sequence"}, {"pretokenizers", ordered_json::array()}};
  for (const char* r : kDeepSeek) deepseek_pre["pretokenizers"].push_back(split(r));
  deepseek_pre["pretokenizers"].push_back(byte_level(false));
  ordered_json deepseek = {{"added_tokens", added(262, {{"<｜begin▁of▁sentence｜>", true}, {"<｜end▁of▁sentence｜>", true},
                                                       {"<｜User｜>", false}, {"<｜Assistant｜>", false}})},
                           {"normalizer", {{"type", "Sequence"}, {"normalizers", ordered_json::array()}}},
                           {"pre_tokenizer", deepseek_pre},
                           {"model", model(false)}};
  const ordered_json deepseek_cfg = {
      {"add_bos_token", true},
      {"bos_token", {{"__type", "AddedToken"}, {"content", "<｜begin▁of▁sentence｜>"}}},
      {"eos_token", {{"__type", "AddedToken"}, {"content", "<｜end▁of▁sentence｜>"}}},
      {"chat_template", {{{"name", "default"}, {"template", "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"}},
                         {{"name", "tool_use"}, {"template", "{{ tools|tojson }}"}}}}};
  write(dir / "deepseek_v3", deepseek, &deepseek_cfg);

  // Added tokens with lstrip / rstrip / single_word, and an id gap.
  ordered_json flags = gpt2;
  flags["added_tokens"] = added(300, {{"<mask>", true}, {"<sep>", false}}, true);
  const ordered_json flags_cfg = {{"bos_token", "<mask>"}, {"eos_token", {{"content", "<sep>"}}}, {"add_eos_token", true}};
  write(dir / "flags_gap", flags, &flags_cfg);
  std::printf("seeds written to %s\n", dir.c_str());
  return 0;
}
