// r1 quantize's driver (model/quantize_file.hpp): requantization refused, output bytes
// independent of the thread count, no output left (or an old one unchanged) after any
// error, dry runs write nothing, imatrix metadata written. (Bit-exactness with llama.cpp is
// the reference tests' job.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.hpp"
#include "format/gguf.hpp"
#include "format/gguf_writer.hpp"
#include "model/generator.hpp"
#include "model/quantize_file.hpp"

namespace r1 {
namespace {

namespace fs = std::filesystem;

class QuantizeFile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("r1_quantize_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    GenModelSpec spec;
    spec.n_layer = 3;
    write_random_model(spec, model(), 1);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static std::string model() { return (dir_ / "f32.gguf").string(); }
  static std::string path(const std::string& name) { return (dir_ / name).string(); }
  static std::string bytes(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Temporary files of the atomic writer (".<name>.tmpXXXXXX") left in the directory.
  static std::vector<std::string> temporaries() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string n = e.path().filename().string();
      if (n.find(".tmp") != std::string::npos) out.push_back(n);
    }
    return out;
  }
  static QuantizeOptions options(const std::string& out, FileType ft) {
    QuantizeOptions o;
    o.input = model();
    o.output = out;
    o.file_type = ft;
    o.threads = 1;
    return o;
  }
  static inline fs::path dir_;
};

TEST_F(QuantizeFile, OutputDoesNotDependOnThreadCount) {
  for (FileType ft : {FileType::q4_k_m, FileType::iq4_xs, FileType::q5_1}) {
    QuantizeOptions o = options(path("t1.gguf"), ft);
    quantize_file(o);
    o.output = path("t3.gguf");
    o.threads = 3;
    quantize_file(o);
    EXPECT_EQ(bytes(path("t1.gguf")), bytes(path("t3.gguf"))) << file_type_name(ft);
  }
}

TEST_F(QuantizeFile, MetadataAndTypes) {
  const QuantizeReport r = quantize_file(options(path("m.gguf"), FileType::q4_k_m));
  const auto f = gguf::File::open(path("m.gguf"));
  EXPECT_EQ(f->metadata().get_int("general.file_type"), 15);
  EXPECT_EQ(f->metadata().get_int("general.quantization_version"), 2);
  EXPECT_EQ(f->find_tensor("output.weight")->type, DType::Q6_K);
  EXPECT_EQ(f->find_tensor("output_norm.weight")->type, DType::F32);
  EXPECT_EQ(r.n_tensors, f->tensors().size());
  EXPECT_LT(r.output_bytes, r.input_bytes / 4);
}

TEST_F(QuantizeFile, RequantizingIsRefusedUnlessAllowed) {
  quantize_file(options(path("q8.gguf"), FileType::q8_0));
  QuantizeOptions o = options(path("re.gguf"), FileType::q4_0);
  o.input = path("q8.gguf");
  try {
    quantize_file(o);
    ADD_FAILURE() << "requantizing was not refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already quantized (q8_0)"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path("re.gguf")));
  o.allow_requantize = true;
  quantize_file(o);
  EXPECT_EQ(gguf::File::open(path("re.gguf"))->find_tensor("blk.0.attn_q.weight")->type, DType::Q4_0);
  // same type as stored: copied, no requantization needed
  QuantizeOptions same = options(path("same.gguf"), FileType::q8_0);
  same.input = path("q8.gguf");
  quantize_file(same);
  EXPECT_EQ(bytes(path("same.gguf")).size(), bytes(path("q8.gguf")).size());
}

TEST_F(QuantizeFile, NoOutputLeftAfterAnError) {
  // an importance-matrix type without an importance matrix
  EXPECT_THROW(quantize_file(options(path("new.gguf"), FileType::iq2_xxs)), Error);
  EXPECT_FALSE(fs::exists(path("new.gguf")));
  // an existing output is left as it was
  std::ofstream(path("old.gguf")) << "previous";
  EXPECT_THROW(quantize_file(options(path("old.gguf"), FileType::iq1_s)), Error);
  EXPECT_EQ(bytes(path("old.gguf")), "previous");
  // an imatrix entry of the wrong size
  gguf::Writer w;
  w.set("imatrix.datasets", gguf::Value::from_strings({"x"}));
  w.set("imatrix.chunk_count", gguf::Value::from_u32(1));
  w.set("imatrix.chunk_size", gguf::Value::from_u32(1));
  const std::vector<float> sums(100, 1.f), counts(1, 1.f);
  w.add_tensor("blk.0.attn_q.weight.in_sum2", DType::F32, {100, 1}, sums.data(), 400);
  w.add_tensor("blk.0.attn_q.weight.counts", DType::F32, {1, 1}, counts.data(), 4);
  w.write(path("im.gguf"));
  QuantizeOptions o = options(path("old.gguf"), FileType::q4_k_m);
  o.imatrix = path("im.gguf");
  try {
    quantize_file(o);
    ADD_FAILURE() << "a wrong-sized imatrix entry was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has 100 values"), std::string::npos) << e.what();
  }
  EXPECT_EQ(bytes(path("old.gguf")), "previous");
  // the same file as input and output
  EXPECT_THROW(quantize_file(options(model(), FileType::q8_0)), Error);
  EXPECT_EQ(temporaries(), std::vector<std::string>{});
  fs::remove(path("old.gguf"));
  fs::remove(path("im.gguf"));
}

TEST_F(QuantizeFile, DryRunWritesNothing) {
  QuantizeOptions o = options(path("dry.gguf"), FileType::q3_k_m);
  o.dry_run = true;
  size_t seen = 0;
  o.on_tensor = [&](const QuantizedTensor&) { ++seen; };
  const QuantizeReport r = quantize_file(o);
  EXPECT_FALSE(fs::exists(path("dry.gguf")));
  EXPECT_EQ(seen, r.n_tensors);
  EXPECT_GT(r.n_converted, 0u);
}

TEST_F(QuantizeFile, ImatrixKeysAreWritten) {
  // an imatrix covering one weight; the others are quantized without one, as llama.cpp does
  const auto in = gguf::File::open(model());
  const auto* q = in->find_tensor("blk.0.attn_q.weight");
  gguf::Writer w;
  w.set("imatrix.datasets", gguf::Value::from_strings({"calib.txt"}));
  w.set("imatrix.chunk_count", gguf::Value::from_u32(42));
  w.set("imatrix.chunk_size", gguf::Value::from_u32(512));
  const std::vector<float> sums(static_cast<size_t>(q->shape[0]), 2.f), counts(1, 1.f);
  w.add_tensor("blk.0.attn_q.weight.in_sum2", DType::F32, {q->shape[0], 1}, sums.data(), sums.size() * 4);
  w.add_tensor("blk.0.attn_q.weight.counts", DType::F32, {1, 1}, counts.data(), 4);
  w.write(path("one.imatrix"));
  QuantizeOptions o = options(path("im_out.gguf"), FileType::q4_k_m);
  o.imatrix = path("one.imatrix");
  const QuantizeReport r = quantize_file(o);
  EXPECT_EQ(r.imatrix_entries, 1u);
  const auto f = gguf::File::open(path("im_out.gguf"));
  EXPECT_EQ(f->metadata().get_string("quantize.imatrix.file"), path("one.imatrix"));
  EXPECT_EQ(f->metadata().get_string("quantize.imatrix.dataset"), "calib.txt");
  EXPECT_EQ(f->metadata().get_int("quantize.imatrix.entries_count"), 1);
  EXPECT_EQ(f->metadata().get_int("quantize.imatrix.chunks_count"), 42);
  int with = 0;
  for (const auto& t : r.tensors) with += t.used_imatrix;
  EXPECT_EQ(with, 1);
}

}  // namespace
}  // namespace r1
