#include "train/sft_data.hpp"

#include <fstream>

#include "base/error.hpp"
#include "engine/chat_format.hpp"
#include "tokenizer/tokenizer.hpp"

namespace r1::train {

int64_t Example::n_target() const {
  int64_t n = 0;
  for (uint8_t p : predict) n += p;
  return n;
}

namespace {

std::string trim_newlines(std::string s) {
  const size_t b = s.find_first_not_of("\r\n");
  if (b == std::string::npos) return {};
  const size_t e = s.find_last_not_of("\r\n");
  return s.substr(b, e - b + 1);
}

std::string string_field(const nlohmann::json& m, const char* key) {
  if (!m.contains(key) || m[key].is_null()) return {};
  if (!m[key].is_string()) fail("message field '{}' must be a string", key);
  return m[key].get<std::string>();
}

}  // namespace

void split_reasoning(const nlohmann::json& assistant, std::string* reasoning, std::string* answer) {
  std::string content = string_field(assistant, "content");
  std::string rc = string_field(assistant, "reasoning_content");
  const size_t lead = content.find_first_not_of(" \t\r\n");
  if (rc.empty() && lead != std::string::npos && content.compare(lead, 7, "<think>") == 0) {
    const size_t close = content.find("</think>", lead);
    if (close == std::string::npos) fail("assistant content opens <think> but never closes it");
    rc = content.substr(lead + 7, close - lead - 7);
    content = content.substr(close + 8);
  }
  *reasoning = trim_newlines(rc);
  const size_t b = content.find_first_not_of(" \t\r\n");
  *answer = b == std::string::npos ? std::string() : content.substr(b);
}

Example render_conversation(const nlohmann::json& messages, const Tokenizer& tok) {
  if (!messages.is_array() || messages.empty()) fail("'messages' must be a non-empty array");
  int64_t last = -1;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object() || !messages[i].contains("role") || !messages[i]["role"].is_string())
      fail("message {} has no string 'role'", i);
    if (messages[i]["role"] == "assistant") last = static_cast<int64_t>(i);
  }
  if (last < 1) fail("a conversation needs a prompt and an assistant message to learn");
  nlohmann::json prompt = nlohmann::json::array();
  for (int64_t i = 0; i < last; ++i) {
    const auto& m = messages[static_cast<size_t>(i)];
    std::string content = string_field(m, "content");
    if (m["role"] == "assistant") {  // an earlier turn: its answer only
      std::string r;
      split_reasoning(m, &r, &content);
    }
    prompt.push_back({{"role", m["role"]}, {"content", content}});
  }
  std::string reasoning, answer;
  split_reasoning(messages[static_cast<size_t>(last)], &reasoning, &answer);

  const std::string prompt_text = format_chat(tok, prompt, /*add_generation_prompt=*/true);
  std::string target = ends_in_reasoning(prompt_text) ? "" : "<think>\n";
  target += reasoning + "\n</think>\n\n" + answer;
  if (tok.eos() >= 0) target += tok.token_bytes(tok.eos());

  Example ex;
  ex.ids = tokenize_prompt(tok, prompt_text);
  ex.predict.assign(ex.ids.size(), 0);
  const std::vector<int32_t> t = tok.encode(target, /*add_bos=*/false, /*parse_special=*/true);
  ex.ids.insert(ex.ids.end(), t.begin(), t.end());
  ex.predict.resize(ex.ids.size(), 1);
  return ex;
}

std::vector<Example> load_sft_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_tokens,
                                    SftDataStats* stats) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read training data '{}'", path);
  SftDataStats st;
  std::vector<Example> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++st.lines;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail("{}:{}: invalid JSON: {}", path, n, e.what());
    }
    if (!j.is_object() || !j.contains("messages")) fail("{}:{}: no 'messages' array", path, n);
    Example ex;
    try {
      ex = render_conversation(j["messages"], tok);
    } catch (const Error& e) {
      fail("{}:{}: {}", path, n, e.what());
    }
    if (static_cast<int64_t>(ex.ids.size()) > max_tokens) {
      ++st.skipped_too_long;
      continue;
    }
    st.tokens += static_cast<int64_t>(ex.ids.size());
    st.target_tokens += ex.n_target();
    out.push_back(std::move(ex));
  }
  st.examples = static_cast<int64_t>(out.size());
  if (stats) *stats = st;
  return out;
}

}  // namespace r1::train
