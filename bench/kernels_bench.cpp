// Kernel micro-benchmark: vec_dot throughput per weight type for every ISA of this
// build, and llama.cpp's own kernels for comparison when node-llama-cpp's ggml
// libraries are found (tests/reference/node_modules). Also matmul with 1 and 16 tokens.
//
// Build (no CMake target yet):
//   g++ -O3 -std=c++20 -Isrc bench/kernels_bench.cpp build/libr1_kernels.a build/libr1_base.a
//       -lfmt -lpthread -o kernels_bench
// Run: ./kernels_bench [source-dir] [threads]   (source dir locates the npm libraries)
#include <dlfcn.h>

#include <time.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/matmul.hpp"
#include "kernels/types.hpp"

using namespace r1;

namespace {

using GgmlDot = void (*)(int, float*, size_t, const void*, size_t, const void*, size_t, int);

// CPU time of the calling thread: the shared 2-core machines are often oversubscribed,
// and wall time then measures the scheduler. (matmul with >1 thread uses wall time.)
double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<float> gaussian(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::string ggml_name(DType w, DType a, int64_t bs) {
  auto up = [](DType t) {
    std::string s(dtype_name(t));
    if (s.size() == 4 && s[3] == 'k') s[3] = 'K';
    return s;
  };
  std::string name = "ggml_vec_dot_";
  name += up(w);
  if (bs > 1) {
    name += '_';
    name += up(a);
  }
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string src = argc > 1 ? argv[1] : ".";
  const std::string dir = src + "/tests/reference/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/";
  void* ggml = dlopen((dir + "libggml-base.so").c_str(), RTLD_NOW | RTLD_LOCAL)
                   ? dlopen((dir + "libggml-cpu-haswell.so").c_str(), RTLD_NOW | RTLD_LOCAL)
                   : nullptr;
  if (ggml) reinterpret_cast<void (*)()>(dlsym(ggml, "ggml_cpu_init"))();

  const int64_t cols = 4096, rows = 1024;
  const auto wf = gaussian(static_cast<size_t>(cols * rows), 1);
  const auto xf = gaussian(static_cast<size_t>(cols), 2);
  const DType types[] = {DType::F32, DType::F16, DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                         DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K};
  std::printf("vec_dot, %lld x %lld weights, one thread: GB/s of weight bytes\n", (long long)rows, (long long)cols);
  std::printf("%-6s %10s %10s %10s\n", "type", "scalar", "avx2", "ggml");
  for (DType t : types) {
    const TypeTraits* ref = find_reference_traits(t);
    const size_t rb = row_bytes(t, cols);
    std::vector<uint8_t> w(rb * rows);
    for (int64_t r = 0; r < rows; ++r) ref->from_float(wf.data() + r * cols, w.data() + r * rb, cols);
    std::vector<uint8_t> a(row_bytes(ref->vec_dot_type, cols));
    find_reference_traits(ref->vec_dot_type)->from_float(xf.data(), a.data(), cols);
    auto run = [&](auto dot) {
      volatile float sink = 0;
      double best = 1e30;
      for (int rep = 0; rep < 5; ++rep) {
        const double t0 = cpu_s();
        for (int64_t r = 0; r < rows; ++r) sink = sink + dot(w.data() + r * rb, a.data());
        best = std::min(best, cpu_s() - t0);
      }
      return static_cast<double>(rb * rows) / best / 1e9;
    };
    double g[3] = {0, 0, 0};
    for (Isa isa : kAllIsas) {
      const TypeTraits* tr = find_traits_for(isa, t);
      if (tr) g[static_cast<int>(isa)] = run([&](const void* x, const void* y) { return tr->vec_dot(cols, x, y); });
    }
    if (ggml) {
      if (auto f = reinterpret_cast<GgmlDot>(dlsym(ggml, ggml_name(t, ref->vec_dot_type, ref->block_size).c_str())))
        g[2] = run([&](const void* x, const void* y) {
          float s;
          f(static_cast<int>(cols), &s, 0, x, 0, y, 0, 1);
          return s;
        });
    }
    std::printf("%-6s %10.2f %10.2f %10.2f\n", ref->name, g[0], g[1], g[2]);
  }

  // matmul over a 1536 x 8960 Q4_0 / Q4_K / Q8_0 matrix (R1-Distill-Qwen-1.5B FFN shape).
  ThreadPool pool(argc > 2 ? std::atoi(argv[2]) : 0);
  std::printf("\nmatmul 8960 x 1536 (rows x cols), %d threads: ms per call (%s)\n", pool.size(),
              pool.size() == 1 ? "thread CPU time" : "wall time");
  for (DType t : {DType::Q4_0, DType::Q8_0, DType::Q4_K, DType::Q6_K}) {
    const int64_t R = 8960, C = 1536;
    const auto big = gaussian(static_cast<size_t>(R * C), 3);
    const size_t rb = row_bytes(t, C);
    std::vector<uint8_t> w(rb * R);
    for (int64_t r = 0; r < R; ++r) traits(t).from_float(big.data() + r * C, w.data() + r * rb, C);
    const WeightView W{.type = t, .rows = R, .cols = C, .row_stride = rb, .data = w.data(), .name = "bench"};
    for (int64_t tokens : {1, 16}) {
      const auto X = gaussian(static_cast<size_t>(C * tokens), 4);
      std::vector<float> Y(static_cast<size_t>(R * tokens));
      double best = 1e30;
      for (int rep = 0; rep < 5; ++rep) {
        const double t0 = pool.size() == 1 ? cpu_s() : wall_s();
        matmul(W, X.data(), C, tokens, Y.data(), R, pool);
        best = std::min(best, (pool.size() == 1 ? cpu_s() : wall_s()) - t0);
      }
      std::printf("%-6s tokens %2lld: %8.3f ms  (%.1f GB/s weights)\n", dtype_name(t).data(), (long long)tokens,
                  best * 1e3, static_cast<double>(w.size()) / best / 1e9);
    }
  }
  return 0;
}
