// r1.cpp public C++ API: load a DeepSeek-R1-class model from a GGUF file and
// generate with the reasoning trace kept apart from the answer.
//
//   auto engine = r1::Engine::open("model.gguf");
//   r1::Engine::Request req;
//   req.messages = {{"user", "What is 17 * 23?"}};
//   auto result = engine->generate(req, [](const r1::Engine::Event& ev) {
//     std::fputs(std::string(ev.content).c_str(), stdout);
//   });
//
// Contracts:
// - Errors (a broken file, a prompt longer than the context, bad options) throw
//   std::runtime_error with a one-line message.
// - One Engine holds one conversation cache: generate() calls on the same Engine
//   must not overlap; consecutive calls reuse the common prompt prefix. cancel()
//   may be called from any other thread at any time: it ends the running
//   generate() soon (finish_reason "cancelled"). Each generate() starts
//   uncancelled, so a cancel() while none is running has no effect.
// - Text given to callbacks is valid UTF-8 and valid only during the call.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace r1 {

class Engine {
 public:
  struct Options {
    int n_threads = 0;   // 0: physical cores
    int64_t n_ctx = 0;   // context length in tokens; 0: the model's, at most 8192
    bool allow_paging = false;  // weights larger than memory: page them from disk instead of refusing
  };

  struct Message {
    std::string role;     // "system" | "user" | "assistant"
    std::string content;
  };

  struct Request {
    std::vector<Message> messages;  // rendered with the model's chat template
    std::string prompt;             // used as-is (special tokens parsed) when messages is empty
    float temperature = 0.6f;       // <= 0: greedy
    float top_p = 0.95f;
    int32_t top_k = 0;              // 0: off
    float min_p = 0.0f;             // 0: off
    float repeat_penalty = 1.0f;    // 1: off
    uint64_t seed = 0xFFFFFFFFu;    // 0xFFFFFFFF: random
    int32_t max_tokens = -1;        // -1: until the context is full
    std::vector<std::string> stop;  // stop strings, matched in the answer only
    bool no_think = false;          // skip the reasoning block
    int32_t think_budget = -1;      // end reasoning after this many tokens; -1: no limit
  };

  struct Event {
    bool done = false;              // true for the last event of a generation
    int32_t token = -1;             // the generated id (-1 on the done event)
    std::string_view reasoning;     // new reasoning text
    std::string_view content;       // new answer text
  };

  struct Stats {
    int32_t prompt_tokens = 0;
    int32_t cached_tokens = 0;      // prompt tokens reused from the previous call
    int32_t reasoning_tokens = 0;
    int32_t content_tokens = 0;
    double prefill_tokens_per_second = 0;
    double decode_tokens_per_second = 0;
    std::string finish_reason;      // "stop" | "length" | "cancelled" | "budget"
  };

  struct Result {
    std::vector<int32_t> tokens;    // generated ids
    std::string reasoning;
    std::string content;
    Stats stats;
  };

  static std::unique_ptr<Engine> open(const std::string& path, const Options& options);
  static std::unique_ptr<Engine> open(const std::string& path);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::vector<int32_t> tokenize(std::string_view text, bool add_bos = true, bool parse_special = true) const;
  std::string detokenize(const std::vector<int32_t>& ids) const;
  std::string render_chat(const std::vector<Message>& messages, bool add_generation_prompt = true) const;

  Result generate(const Request& request, const std::function<void(const Event&)>& on_event);
  Result generate(const Request& request);
  void cancel();
  void reset();  // forget the cached conversation

  int64_t n_ctx() const;
  int32_t n_vocab() const;
  std::string architecture() const;  // "qwen2", "llama", ...

  struct Impl;

 private:
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace r1
