// r1_probe: the machine's roofline numbers that docs/performance.md compares against.
//   DRAM read bandwidth   streaming 256-bit loads over a buffer far larger than the caches
//   FP32 FMA peak         independent _mm256_fmadd_ps chains (2 flops per lane)
//   int8 maddubs peak     independent _mm256_maddubs_epi16 chains (32 u8*s8 multiply-adds each),
//                         and the full int8 dot step used by the Q4/Q8 kernels
//                         (maddubs -> madd(ones) -> add_epi32), per multiply-add
//   AVX-512 (where the CPU has BW and VNNI): 512-bit maddubs and vpdpbusd chains
// each with 1 and 2 threads (or the counts given: r1_probe [threads...] [--mib N]).
// Best of several runs: on a shared machine the best run is the one least disturbed.
// x86-64 with AVX2 + FMA only (functions carry their own target attributes).
// GCC 12 flags its own AVX-512 intrinsics headers (the undefined-vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs fn(thread_index) on n threads started together; returns the wall seconds from the
// common start to the last finish.
double timed_parallel(int n, const std::function<void(int)>& fn) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      fn(i);
    });
  while (ready.load() < n) std::this_thread::yield();
  const double t0 = now_s();
  go.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  return now_s() - t0;
}

// 8 independent 256-bit loads per 256-byte step (fewer leave a core's load queue idle).
__attribute__((target("avx2"))) uint64_t read_stream(const uint8_t* p, size_t bytes) {
  __m256i a[8];
  for (auto& v : a) v = _mm256_setzero_si256();
  for (size_t i = 0; i + 256 <= bytes; i += 256)
    for (int j = 0; j < 8; ++j)
      a[j] = _mm256_xor_si256(a[j], _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32 * j)));
  __m256i s = a[0];
  for (int j = 1; j < 8; ++j) s = _mm256_xor_si256(s, a[j]);
  return static_cast<uint64_t>(_mm256_extract_epi64(s, 0) ^ _mm256_extract_epi64(s, 3));
}

// 10 independent chains hide the 4-cycle FMA latency on 2 FMA pipes.
__attribute__((target("avx2,fma"))) float fma_loop(int64_t iters) {
  __m256 acc[10];
  for (int j = 0; j < 10; ++j) acc[j] = _mm256_set1_ps(0.001f * static_cast<float>(j));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 10; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  __m256 s = acc[0];
  for (int j = 1; j < 10; ++j) s = _mm256_add_ps(s, acc[j]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}
constexpr double kFmaFlopsPerIter = 10 * 8 * 2;

// Integer chains: each chain feeds its own result back as the next input, so nothing is
// loop-invariant and no extra instructions are needed; 10 chains cover the latencies
// (10 chains + 2 constants + temporaries fit in the 16 ymm registers).
#define R1_PROBE_CHAINS(STEP) STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9)
constexpr int kChains = 10;
#define R1_PROBE_DECL(j) __m256i v##j = _mm256_set1_epi8(static_cast<char>(j + 1));
#define R1_PROBE_FOLD(j) t = _mm256_xor_si256(t, v##j);

// Pure maddubs throughput: v = maddubs(v, s) (u8 x s8 pairs summed to s16, 32 MACs).
__attribute__((target("avx2"))) int maddubs_loop(int64_t iters) {
  R1_PROBE_CHAINS(R1_PROBE_DECL)
  const __m256i s = _mm256_set1_epi8(-2);
  for (int64_t i = 0; i < iters; ++i) {
#define STEP(j) v##j = _mm256_maddubs_epi16(v##j, s);
    R1_PROBE_CHAINS(STEP)
#undef STEP
  }
  __m256i t = _mm256_setzero_si256();
  R1_PROBE_CHAINS(R1_PROBE_FOLD)
  return _mm256_extract_epi32(t, 0);
}
// The dot-product step of the Q8 kernels: maddubs, widen with madd(ones), add into i32.
__attribute__((target("avx2"))) int dot_step_loop(int64_t iters) {
  R1_PROBE_CHAINS(R1_PROBE_DECL)
  const __m256i s = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iters; ++i) {
#define STEP(j) v##j = _mm256_add_epi32(v##j, _mm256_madd_epi16(_mm256_maddubs_epi16(v##j, s), ones));
    R1_PROBE_CHAINS(STEP)
#undef STEP
  }
  __m256i t = _mm256_setzero_si256();
  R1_PROBE_CHAINS(R1_PROBE_FOLD)
  return _mm256_extract_epi32(t, 0);
}
constexpr double kMacsPerIter = kChains * 32;

// The same chains 512 bits wide (AVX-512BW vpmaddubsw, AVX-512 VNNI vpdpbusd: 4 u8 x s8
// products summed into each int32 lane, the step of r1's AVX-512 kernels).
#define R1_PROBE_DECL512(j) __m512i z##j = _mm512_set1_epi8(static_cast<char>(j + 1));
#define R1_PROBE_FOLD512(j) t = _mm512_xor_si512(t, z##j);
__attribute__((target("avx512f,avx512bw"))) int maddubs512_loop(int64_t iters) {
  R1_PROBE_CHAINS(R1_PROBE_DECL512)
  const __m512i s = _mm512_set1_epi8(-2);
  for (int64_t i = 0; i < iters; ++i) {
#define STEP(j) z##j = _mm512_maddubs_epi16(z##j, s);
    R1_PROBE_CHAINS(STEP)
#undef STEP
  }
  __m512i t = _mm512_setzero_si512();
  R1_PROBE_CHAINS(R1_PROBE_FOLD512)
  return _mm_cvtsi128_si32(_mm512_castsi512_si128(t));
}
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int dpbusd512_loop(int64_t iters) {
  R1_PROBE_CHAINS(R1_PROBE_DECL512)
  const __m512i s = _mm512_set1_epi8(-2);
  for (int64_t i = 0; i < iters; ++i) {
#define STEP(j) z##j = _mm512_dpbusd_epi32(z##j, z##j, s);
    R1_PROBE_CHAINS(STEP)
#undef STEP
  }
  __m512i t = _mm512_setzero_si512();
  R1_PROBE_CHAINS(R1_PROBE_FOLD512)
  return _mm_cvtsi128_si32(_mm512_castsi512_si128(t));
}

template <class F>
double best_of(int runs, F&& f) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) best = std::min(best, f());
  return best;
}

std::atomic<uint64_t> g_sink{0};  // keeps results alive

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "r1_probe: this CPU has no AVX2/FMA\n");
    return 1;
  }
  std::vector<int> threads;
  size_t mib = 1024;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--mib") == 0 && i + 1 < argc) {
      mib = std::strtoull(argv[++i], nullptr, 10);
    } else {
      const int t = std::atoi(argv[i]);
      if (t < 1) {
        std::fprintf(stderr, "usage: r1_probe [threads...] [--mib N]\n");
        return 2;
      }
      threads.push_back(t);
    }
  }
  if (threads.empty()) threads = {1, 2};
  const size_t bytes = mib << 20;
  // Huge pages where the kernel allows them, as r1 keeps its weights (model/weight_store).
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  auto* buf = mem == MAP_FAILED ? nullptr : static_cast<uint8_t*>(mem);
  if (buf) madvise(buf, bytes, MADV_HUGEPAGE);
  if (!buf) {
    std::fprintf(stderr, "r1_probe: cannot allocate %zu MiB\n", mib);
    return 1;
  }
  for (size_t i = 0; i < bytes; i += 64) std::memset(buf + i, static_cast<int>(i >> 6), 64);

  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vnni");
  std::printf("| threads | DRAM read GB/s | FP32 FMA GFLOP/s | int8 maddubs G MAC/s | int8 dot step G MAC/s |%s\n",
              avx512 ? " AVX-512 maddubs G MAC/s | AVX-512 VNNI dpbusd G MAC/s |" : "");
  std::printf("| ---: | ---: | ---: | ---: | ---: |%s\n", avx512 ? " ---: | ---: |" : "");
  for (int nt : threads) {
    const size_t share = (bytes / static_cast<size_t>(nt)) & ~size_t{255};
    const double t_read = best_of(5, [&] {
      return timed_parallel(nt, [&](int i) { g_sink += read_stream(buf + share * static_cast<size_t>(i), share); });
    });
    const int64_t iters = 20'000'000;
    const double t_fma = best_of(5, [&] {
      return timed_parallel(nt, [&](int) { g_sink += static_cast<uint64_t>(fma_loop(iters)); });
    });
    const double t_mad = best_of(5, [&] {
      return timed_parallel(nt, [&](int) { g_sink += static_cast<uint64_t>(maddubs_loop(iters)); });
    });
    const double t_dot = best_of(5, [&] {
      return timed_parallel(nt, [&](int) { g_sink += static_cast<uint64_t>(dot_step_loop(iters)); });
    });
    const double gb = static_cast<double>(share) * nt / t_read / 1e9;
    const double gflops = kFmaFlopsPerIter * static_cast<double>(iters) * nt / t_fma / 1e9;
    const double gmac = kMacsPerIter * static_cast<double>(iters) * nt / t_mad / 1e9;
    const double gdot = kMacsPerIter * static_cast<double>(iters) * nt / t_dot / 1e9;
    std::printf("| %d | %.1f | %.0f | %.0f | %.0f |", nt, gb, gflops, gmac, gdot);
    if (avx512) {
      const double t_m512 = best_of(5, [&] {
        return timed_parallel(nt, [&](int) { g_sink += static_cast<uint64_t>(maddubs512_loop(iters)); });
      });
      const double t_d512 = best_of(5, [&] {
        return timed_parallel(nt, [&](int) { g_sink += static_cast<uint64_t>(dpbusd512_loop(iters)); });
      });
      std::printf(" %.0f | %.0f |", 2 * kMacsPerIter * static_cast<double>(iters) * nt / t_m512 / 1e9,
                  2 * kMacsPerIter * static_cast<double>(iters) * nt / t_d512 / 1e9);
    }
    std::printf("\n");
  }
  munmap(buf, bytes);
  return g_sink.load() == 42 ? 3 : 0;
}
