// Times llama.cpp's own llama_model_quantize (what the llama-quantize tool calls), loaded
// with dlopen from node-llama-cpp's libllama (llama.cpp release v0.4.0), so that
// bench/quantize_speed.sh can compare `r1 quantize` with it on the same file and threads.
//   llama_quantize_harness LIBLLAMA IN.gguf OUT.gguf FTYPE_ID THREADS
// Prints "seconds <wall>" on success. The struct below is llama.h's
// llama_model_quantize_params of that release.
#include <dlfcn.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

struct Params {
  int32_t nthread;
  int ftype, output_tensor_type, token_embedding_type;
  bool allow_requantize, quantize_output_tensor, only_copy, pure, keep_split, dry_run;
  const void *imatrix, *kv_overrides, *tt_overrides;
  const int32_t* prune_layers;
  size_t max_buf_size;
};

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s LIBLLAMA IN OUT FTYPE_ID THREADS\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  auto defaults = reinterpret_cast<Params (*)()>(dlsym(lib, "llama_model_quantize_default_params"));
  auto quantize = reinterpret_cast<uint32_t (*)(const char*, const char*, const Params*)>(dlsym(lib, "llama_model_quantize"));
  auto log_set = reinterpret_cast<void (*)(void (*)(int, const char*, void*), void*)>(dlsym(lib, "llama_log_set"));
  if (!defaults || !quantize) return 1;
  if (log_set) log_set([](int, const char*, void*) {}, nullptr);
  Params p = defaults();
  p.ftype = std::atoi(argv[4]);
  p.nthread = std::atoi(argv[5]);
  const auto t0 = std::chrono::steady_clock::now();
  const uint32_t rc = quantize(argv[2], argv[3], &p);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (rc != 0) return 1;
  std::printf("seconds %.3f\n", s);
  return 0;
}
