// Supervised fine-tuning data: OpenAI-messages conversations rendered through the
// model's chat template into token ids with a loss mask on the assistant's tokens.
//
// Contract of render_conversation():
// - The LAST assistant message is the target; everything before it is the prompt,
//   rendered exactly as inference renders it (engine/chat_format: the model's chat
//   template with add_generation_prompt, special tokens parsed, BOS per the model).
//   Earlier assistant turns are rendered by the template (which keeps only their
//   answers, as R1 templates do).
// - The reasoning comes from "reasoning_content", or from a leading
//   "<think>...</think>" in "content" (the two forms published R1 trace sets use).
// - The target text is, when the prompt already opens the reasoning block (R1
//   templates end with "<think>\n"): reasoning + "\n</think>\n\n" + answer + EOS;
//   otherwise "<think>\n" + reasoning + "\n</think>\n\n" + answer + EOS. It is
//   tokenized separately from the prompt (as generation would produce it), and
//   only its tokens are predicted (the loss mask).
// - Throws r1::Error naming the problem for malformed input (no assistant message,
//   wrong types).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace r1 {
class Tokenizer;
}

namespace r1::train {

struct Example {
  std::vector<int32_t> ids;      // prompt + target tokens
  std::vector<uint8_t> predict;  // (ids.size()) 1 where ids[i] is a target token
  int64_t n_target() const;
};

Example render_conversation(const nlohmann::json& messages, const Tokenizer& tok);

// Splits an assistant message into (reasoning, answer) per the rules above.
void split_reasoning(const nlohmann::json& assistant, std::string* reasoning, std::string* answer);

struct SftDataStats {
  int64_t lines = 0, examples = 0, skipped_too_long = 0, tokens = 0, target_tokens = 0;
};

// Reads a JSONL file of {"messages": [...]} records (other keys ignored). Examples
// longer than max_tokens are skipped and counted. Throws r1::Error naming the file
// and line for invalid JSON or a malformed record.
std::vector<Example> load_sft_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_tokens,
                                    SftDataStats* stats);

}  // namespace r1::train
