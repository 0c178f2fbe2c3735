// Embedding r1.cpp in a program: ask one question, stream the answer, keep the
// reasoning apart. Uses only the public header. Usage: example_embed MODEL.gguf [QUESTION]
#include <r1/r1.hpp>

#include <cstdio>
#include <exception>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [QUESTION]\n", argv[0]);
    return 2;
  }
  try {
    auto engine = r1::Engine::open(argv[1], {.n_threads = 0, .n_ctx = 2048});
    r1::Engine::Request req;
    req.messages = {{"user", argc > 2 ? argv[2] : "What is 17 * 23?"}};
    req.max_tokens = 256;
    auto result = engine->generate(req, [](const r1::Engine::Event& ev) {
      std::fwrite(ev.content.data(), 1, ev.content.size(), stdout);  // the answer, as it comes
      std::fflush(stdout);
    });
    std::printf("\n[%d reasoning tokens, %d answer tokens, %.1f tok/s, %s]\n", result.stats.reasoning_tokens,
                result.stats.content_tokens, result.stats.decode_tokens_per_second,
                result.stats.finish_reason.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
