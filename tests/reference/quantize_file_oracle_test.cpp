// `r1 quantize` against llama-quantize itself: libllama (node-llama-cpp 3.21.1, llama.cpp
// release v0.4.0) exports llama_model_quantize, the function llama-quantize calls. Both
// quantize the same random-weight files (made by `r1 gen-model`) to the same file type;
// the outputs must hold the same tensors in the same order with the same types and the
// same bytes, and the same metadata (r1 adds only the quantize.imatrix.* keys that
// llama-quantize's command line adds). Models: qwen2 and llama tiny shapes (incl. a row
// length that is not a multiple of 256, which forces fallback types), and the MoE
// deepseek2 tiny-v3. Skipped when the npm packages are not installed.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "kernels/types.hpp"

namespace r1 {
namespace {

// llama.h of that release (only what is used).
struct LlamaTensorOverride {
  const char* pattern;
  int type;
};
struct LlamaImatrixData {
  const char* name;
  const float* data;
  size_t size;
};
struct LlamaQuantizeParams {
  int32_t nthread;
  int ftype;
  int output_tensor_type;
  int token_embedding_type;
  bool allow_requantize;
  bool quantize_output_tensor;
  bool only_copy;
  bool pure;
  bool keep_split;
  bool dry_run;
  const LlamaImatrixData* imatrix;
  const void* kv_overrides;
  const LlamaTensorOverride* tt_overrides;
  const int32_t* prune_layers;
  size_t max_buf_size;
};
using DefaultParamsFn = LlamaQuantizeParams (*)();
using QuantizeFn = uint32_t (*)(const char* in, const char* out, const LlamaQuantizeParams* params);
using LogSetFn = void (*)(void (*)(int, const char*, void*), void*);

struct Llama {
  DefaultParamsFn default_params = nullptr;
  QuantizeFn quantize = nullptr;
  std::string why_not;
};

const Llama& llama() {
  static const Llama l = [] {
    Llama l;
    const std::string dir = std::string(R1_SOURCE_DIR) + "/tests/reference/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/";
    const std::string path = dir + "libllama.v0.4.0.so";
    if (!std::filesystem::exists(path)) {
      l.why_not = "llama.cpp's libllama is not installed (" + path + "; scripts/setup.sh installs it)";
      return l;
    }
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      l.why_not = std::string("dlopen failed: ") + dlerror();
      return l;
    }
    l.default_params = reinterpret_cast<DefaultParamsFn>(dlsym(lib, "llama_model_quantize_default_params"));
    l.quantize = reinterpret_cast<QuantizeFn>(dlsym(lib, "llama_model_quantize"));
    if (auto log_set = reinterpret_cast<LogSetFn>(dlsym(lib, "llama_log_set")))
      log_set([](int, const char*, void*) {}, nullptr);
    if (!l.default_params || !l.quantize) l.why_not = "libllama lacks llama_model_quantize";
    return l;
  }();
  return l;
}

#define REQUIRE_LLAMA() \
  if (!llama().why_not.empty()) GTEST_SKIP() << llama().why_not

std::string tmp_dir() {
  const std::string d = std::string(R1_BINARY_DIR) + "/reftmp/quantize_file";
  std::filesystem::create_directories(d);
  return d;
}

int run(const std::string& cmd) { return std::system((cmd + " > /dev/null 2>&1").c_str()); }

// A model made by r1 gen-model (cached per name).
std::string model(const std::string& name, const std::string& args) {
  const std::string path = tmp_dir() + "/" + name + ".gguf";
  if (!std::filesystem::exists(path)) {
    const int rc = run(std::string(R1_BIN) + " gen-model -o " + path + " " + args);
    EXPECT_EQ(rc, 0) << "gen-model " << args;
  }
  return path;
}

// An imatrix GGUF with counts 1 (so the importance is in_sum2 itself) for every 2-D/3-D
// weight of `model_path`, and the same data as llama_model_quantize takes it.
struct TestImatrix {
  std::string path;
  std::map<std::string, std::vector<float>> data;
};
TestImatrix make_imatrix(const std::string& model_path, const std::string& name) {
  TestImatrix im;
  im.path = tmp_dir() + "/" + name + ".imatrix.gguf";
  const auto f = gguf::File::open(model_path);
  gguf::Writer w;
  w.set("general.type", gguf::Value::from_string("imatrix"));
  w.set("imatrix.datasets", gguf::Value::from_strings({"calibration.txt"}));
  w.set("imatrix.chunk_count", gguf::Value::from_u32(10));
  w.set("imatrix.chunk_size", gguf::Value::from_u32(512));
  std::mt19937 g(3);
  std::lognormal_distribution<float> ln(0.f, 1.f);
  for (const auto& t : f->tensors()) {
    if (t.shape.size() < 2 || t.name.find("_norm") != std::string::npos) continue;
    const int64_t n_mat = t.shape.size() > 2 ? t.shape[2] : 1;
    std::vector<float> sums(static_cast<size_t>(t.shape[0] * n_mat));
    for (auto& v : sums) v = ln(g);
    std::vector<float> counts(static_cast<size_t>(n_mat), 1.f);
    w.add_tensor(t.name + ".in_sum2", DType::F32, {t.shape[0], n_mat}, sums.data(), sums.size() * 4);
    w.add_tensor(t.name + ".counts", DType::F32, {1, n_mat}, counts.data(), counts.size() * 4);
    im.data[t.name] = sums;
  }
  w.write(im.path);
  return im;
}

struct Variant {
  std::string r1_type;
  int llama_ftype;
};

// Quantizes `in` with both and compares. Returns a one-line summary of the type table.
void compare(const std::string& in, const Variant& v, const TestImatrix* im, const std::string& extra_r1,
             const std::vector<LlamaTensorOverride>& overrides = {}) {
  const std::string tag = std::filesystem::path(in).stem().string() + "." + v.r1_type + (im ? ".imat" : "");
  const std::string ours = tmp_dir() + "/" + tag + ".r1.gguf", theirs = tmp_dir() + "/" + tag + ".llama.gguf";
  std::filesystem::remove(ours);
  std::filesystem::remove(theirs);
  const std::string cmd = std::string(R1_BIN) + " quantize -q " + in + " " + ours + " " + v.r1_type + " -t 2" +
                          (im ? " --imatrix " + im->path : "") + extra_r1;
  ASSERT_EQ(run(cmd), 0) << cmd;

  LlamaQuantizeParams p = llama().default_params();
  p.nthread = 2;
  p.ftype = v.llama_ftype;
  std::vector<LlamaImatrixData> idata;
  if (im) {
    for (const auto& [name, d] : im->data) idata.push_back({name.c_str(), d.data(), d.size()});
    idata.push_back({nullptr, nullptr, 0});
    p.imatrix = idata.data();
  }
  std::vector<LlamaTensorOverride> tt = overrides;
  if (!tt.empty()) {
    tt.push_back({nullptr, 43});
    p.tt_overrides = tt.data();
  }
  ASSERT_EQ(llama().quantize(in.c_str(), theirs.c_str(), &p), 0u) << "llama_model_quantize " << tag;

  const auto a = gguf::File::open(ours), b = gguf::File::open(theirs);
  ASSERT_EQ(a->tensors().size(), b->tensors().size()) << tag;
  int type_diff = 0, data_diff = 0;
  for (size_t i = 0; i < a->tensors().size(); ++i) {
    const auto& x = a->tensors()[i];
    const auto& y = b->tensors()[i];
    ASSERT_EQ(x.name, y.name) << tag << ": tensor order differs at " << i;
    if (x.type != y.type) {
      ++type_diff;
      ADD_FAILURE() << tag << ": " << x.name << " is " << dtype_name(x.type) << ", llama.cpp: " << dtype_name(y.type);
      continue;
    }
    if (x.nbytes != y.nbytes || std::memcmp(x.data, y.data, x.nbytes) != 0) {
      ++data_diff;
      ADD_FAILURE() << tag << ": " << x.name << " (" << dtype_name(x.type) << ") bytes differ";
    }
  }
  for (const auto& [key, value] : b->metadata().entries()) {
    const gguf::Value* mine = a->metadata().find(key);
    ASSERT_NE(mine, nullptr) << tag << ": r1 lacks metadata key " << key;
    EXPECT_EQ(mine->type, value.type) << tag << ": " << key;
    if (value.type == gguf::ValueType::UINT32 || value.type == gguf::ValueType::STRING)
      EXPECT_TRUE(mine->u == value.u && mine->s == value.s) << tag << ": " << key;
  }
  for (const auto& [key, value] : a->metadata().entries())
    if (!b->metadata().has(key)) EXPECT_EQ(key.rfind("quantize.imatrix.", 0), 0u) << tag << ": extra key " << key;
  EXPECT_EQ(type_diff + data_diff, 0) << tag;
}

const Variant kVariants[] = {
    {"q4_0", 2},    {"q4_1", 3},    {"q5_0", 8},    {"q5_1", 9},    {"q8_0", 7},    {"q2_k", 10},
    {"q3_k_s", 11}, {"q3_k_m", 12}, {"q3_k_l", 13}, {"q4_k_s", 14}, {"q4_k_m", 15}, {"q5_k_s", 16},
    {"q5_k_m", 17}, {"q6_k", 18},   {"iq4_nl", 25}, {"iq4_xs", 30}, {"f16", 1},     {"bf16", 32},
    {"f32", 0},
};

TEST(QuantizeFileOracle, Qwen2TinyEveryTypeWithAndWithoutImatrix) {
  REQUIRE_LLAMA();
  const std::string in = model("qwen2_tiny", "--arch qwen2 --preset tiny --layers 9");
  const TestImatrix im = make_imatrix(in, "qwen2_tiny");
  for (const Variant& v : kVariants) {
    compare(in, v, nullptr, "");
    compare(in, v, &im, "");
  }
}

// Grouped-query factor 4 (other attn_v rules) and a tied embedding (token_embd takes
// output.weight's rule).
TEST(QuantizeFileOracle, Qwen2Gqa4TiedEveryType) {
  REQUIRE_LLAMA();
  const std::string in = model("qwen2_gqa4_tied", "--arch qwen2 --preset tiny --layers 12 --heads 4 --heads-kv 1 --tied");
  const TestImatrix im = make_imatrix(in, "qwen2_gqa4_tied");
  for (const Variant& v : kVariants) {
    compare(in, v, nullptr, "");
    compare(in, v, &im, "");
  }
}

// Row length 96 (not a multiple of 256): the k-quants and IQ4_XS fall back per tensor.
TEST(QuantizeFileOracle, LlamaOddWidthFallbacks) {
  REQUIRE_LLAMA();
  const std::string in = model("llama_w96", "--arch llama --preset tiny --embd 96 --heads 4 --heads-kv 1 --ff 160 --layers 8");
  for (const Variant& v : kVariants) compare(in, v, nullptr, "");
}

TEST(QuantizeFileOracle, Deepseek2MoE) {
  REQUIRE_LLAMA();
  const std::string in = model("deepseek2_tiny", "--arch deepseek2 --preset tiny-v3");
  const TestImatrix im = make_imatrix(in, "deepseek2_tiny");
  for (const char* t : {"q4_k_m", "q3_k_m", "q2_k", "q5_k_s", "q4_0", "iq4_xs"}) {
    for (const Variant& v : kVariants)
      if (v.r1_type == t) {
        compare(in, v, nullptr, "");
        compare(in, v, &im, "");
      }
  }
}

TEST(QuantizeFileOracle, TensorTypeOverrides) {
  REQUIRE_LLAMA();
  const std::string in = model("qwen2_tiny", "--arch qwen2 --preset tiny --layers 9");
  compare(in, {"q4_k_m", 15}, nullptr, " --tensor-type attn_q=q8_0 --tensor-type 'ffn_.*=q5_0'",
          {{"attn_q", 8}, {"ffn_.*", 6}});
}

}  // namespace
}  // namespace r1
