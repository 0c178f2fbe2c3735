// The importance-matrix reader (format/imatrix.hpp): both formats read with llama-quantize's
// normalisation, and hostile files rejected with an r1::Error naming the problem.
// Expected values are computed here from the bytes the test writes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "base/error.hpp"
#include "format/gguf_writer.hpp"
#include "format/imatrix.hpp"
#include "format_gguf_image.hpp"

namespace r1 {
namespace {

using gguf::test::TempDir;

// Legacy .dat builder.
struct Legacy {
  std::vector<uint8_t> b;
  void i32(int32_t v) { put(&v, 4); }
  void f32(float v) { put(&v, 4); }
  void str(const std::string& s) { put(s.data(), s.size()); }
  void put(const void* p, size_t n) { b.insert(b.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); }
  void entry(const std::string& name, int32_t ncall, const std::vector<float>& v) {
    i32(static_cast<int32_t>(name.size()));
    str(name);
    i32(ncall);
    i32(static_cast<int32_t>(v.size()));
    for (float x : v) f32(x);
  }
};

std::string write_bytes(const TempDir& d, const std::string& name, const std::vector<uint8_t>& b) {
  const std::string p = (d.path / name).string();
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return p;
}

void expect_error(const std::string& path, const std::string& part) {
  try {
    load_imatrix(path);
    ADD_FAILURE() << "no error for " << path << " (expected '" << part << "')";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// A GGUF imatrix; `mutate` may change the writer before it writes.
std::string gguf_imatrix(const TempDir& d, const std::string& name, const std::function<void(gguf::Writer&)>& body,
                         bool metadata = true) {
  gguf::Writer w;
  if (metadata) {
    w.set("general.type", gguf::Value::from_string("imatrix"));
    w.set("imatrix.datasets", gguf::Value::from_strings({"wiki.txt"}));
    w.set("imatrix.chunk_count", gguf::Value::from_u32(7));
    w.set("imatrix.chunk_size", gguf::Value::from_u32(512));
  }
  body(w);
  const std::string p = (d.path / name).string();
  w.write(p);
  return p;
}

void add_f32(gguf::Writer& w, const std::string& name, std::vector<int64_t> shape, const std::vector<float>& v) {
  w.add_tensor(name, DType::F32, std::move(shape), v.data(), v.size() * 4);
}

TEST(Imatrix, GgufIsNormalisedPerExpertByCounts) {
  TempDir d;
  const std::string p = gguf_imatrix(d, "ok.gguf", [](gguf::Writer& w) {
    add_f32(w, "blk.0.ffn_down_exps.weight.in_sum2", {2, 3}, {2, 4, 9, 3, 5, 7});
    add_f32(w, "blk.0.ffn_down_exps.weight.counts", {1, 3}, {2.f, 3.f, 0.f});  // expert 2 saw no token
    add_f32(w, "blk.0.attn_q.weight.in_sum2", {4, 1}, {1, 2, 3, 4});
    add_f32(w, "blk.0.attn_q.weight.counts", {1, 1}, {4.4f});  // rounded to 4
  });
  const Imatrix im = load_imatrix(p);
  EXPECT_FALSE(im.legacy);
  EXPECT_EQ(im.chunk_count, 7);
  EXPECT_EQ(im.datasets, std::vector<std::string>{"wiki.txt"});
  ASSERT_EQ(im.entries.size(), 2u);
  EXPECT_EQ(im.entries.at("blk.0.ffn_down_exps.weight"), (std::vector<float>{1, 2, 3, 1, 1, 1}));
  EXPECT_EQ(im.entries.at("blk.0.attn_q.weight"), (std::vector<float>{0.25f, 0.5f, 0.75f, 1.f}));
}

TEST(Imatrix, LegacyIsDividedByCalls) {
  TempDir d;
  Legacy l;
  l.i32(2);
  l.entry("blk.0.attn_k.weight", 4, {4, 8, 2});
  l.entry("output.weight", 0, {1.5f});  // ncall 0: values as stored
  l.i32(12);                            // chunk count
  l.i32(8);
  l.str("calib.tx");
  const Imatrix im = load_imatrix(write_bytes(d, "old.dat", l.b));
  EXPECT_TRUE(im.legacy);
  EXPECT_EQ(im.chunk_count, 12);
  EXPECT_EQ(im.entries.at("blk.0.attn_k.weight"), (std::vector<float>{1, 2, 0.5f}));
  EXPECT_EQ(im.entries.at("output.weight"), (std::vector<float>{1.5f}));
  ASSERT_EQ(im.datasets.size(), 1u);
  EXPECT_EQ(im.datasets[0], "calib.tx");
}

TEST(Imatrix, HostileLegacyFiles) {
  TempDir d;
  expect_error(write_bytes(d, "empty.dat", {}), "empty.dat");
  {
    Legacy l;
    l.i32(0);
    expect_error(write_bytes(d, "zero.dat", l.b), "not an imatrix file");
  }
  {
    Legacy l;
    l.i32(1 << 30);
    l.i32(1);
    expect_error(write_bytes(d, "many.dat", l.b), "claims");
  }
  {
    Legacy l;
    l.i32(1);
    l.i32(-5);
    l.i32(0);
    l.i32(0);
    l.i32(0);
    expect_error(write_bytes(d, "neglen.dat", l.b), "name length of -5");
  }
  {
    Legacy l;
    l.i32(1);
    l.i32(200);
    l.str(std::string(40, 'x'));
    expect_error(write_bytes(d, "shortname.dat", l.b), "truncated");
  }
  {
    Legacy l;
    l.i32(1);
    l.i32(1);
    l.str("a");
    l.i32(1);
    l.i32(1000000);  // values past the end
    l.f32(1);
    expect_error(write_bytes(d, "values.dat", l.b), "has 1000000 values");
  }
  {
    Legacy l;
    l.i32(1);
    l.entry("w", -3, {1});
    expect_error(write_bytes(d, "negcall.dat", l.b), "negative call count");
  }
  {
    Legacy l;
    l.i32(2);
    l.entry("w", 1, {1});
    l.entry("w", 1, {2});
    expect_error(write_bytes(d, "dup.dat", l.b), "twice");
  }
  {
    Legacy l;
    l.i32(1);
    l.entry("w", 1, {1, std::numeric_limits<float>::quiet_NaN()});
    expect_error(write_bytes(d, "nan.dat", l.b), "non-finite");
  }
}

TEST(Imatrix, HostileGgufFiles) {
  TempDir d;
  expect_error(gguf_imatrix(d, "nometa.gguf", [](gguf::Writer& w) {
                 add_f32(w, "a.in_sum2", {2, 1}, {1, 2});
                 add_f32(w, "a.counts", {1, 1}, {1});
               }, false),
               "missing imatrix metadata");
  expect_error(gguf_imatrix(d, "nosums.gguf", [](gguf::Writer& w) { add_f32(w, "a.counts", {1, 1}, {1}); }),
               "has .counts but no .in_sum2");
  expect_error(gguf_imatrix(d, "nocounts.gguf", [](gguf::Writer& w) { add_f32(w, "a.in_sum2", {2, 1}, {1, 2}); }),
               "no .counts");
  expect_error(gguf_imatrix(d, "f16.gguf",
                            [](gguf::Writer& w) {
                              const uint16_t h[2] = {0x3c00, 0x3c00};
                              w.add_tensor("a.in_sum2", DType::F16, {2, 1}, h, 4);
                              add_f32(w, "a.counts", {1, 1}, {1});
                            }),
               "must be F32");
  expect_error(gguf_imatrix(d, "split.gguf",
                            [](gguf::Writer& w) {
                              add_f32(w, "a.in_sum2", {5, 1}, {1, 2, 3, 4, 5});
                              add_f32(w, "a.counts", {1, 2}, {1, 1});
                            }),
               "do not split evenly");
  expect_error(gguf_imatrix(d, "negcount.gguf",
                            [](gguf::Writer& w) {
                              add_f32(w, "a.in_sum2", {2, 1}, {1, 2});
                              add_f32(w, "a.counts", {1, 1}, {-4});
                            }),
               "not a token count");
  expect_error(gguf_imatrix(d, "inf.gguf",
                            [](gguf::Writer& w) {
                              add_f32(w, "a.in_sum2", {2, 1}, {1, std::numeric_limits<float>::infinity()});
                              add_f32(w, "a.counts", {1, 1}, {1});
                            }),
               "non-finite");
  expect_error(gguf_imatrix(d, "none.gguf", [](gguf::Writer& w) { add_f32(w, "other", {2, 1}, {1, 2}); }),
               "no '<weight>.in_sum2'");
  // a GGUF with a broken header is the GGUF reader's error, naming the file
  std::vector<uint8_t> bad = {'G', 'G', 'U', 'F', 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  expect_error(write_bytes(d, "broken.gguf", bad), "broken.gguf");
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

ImatrixSums two_entries() {
  ImatrixSums im;
  im.datasets = {"calib.txt"};
  im.chunk_count = 3;
  im.chunk_size = 128;
  im.entries["blk.0.attn_q.weight"] = {{1, 2, 3, 4}, {384}};
  im.entries["blk.1.ffn_down_exps.weight"] = {{1, 2, 3, 4, 5, 6}, {10, 0, 5}};  // 3 experts of 2 columns
  return im;
}

TEST(ImatrixWriter, RoundTripsThroughBothReaders) {
  TempDir d;
  const std::string p = (d.path / "im.gguf").string();
  write_imatrix(p, two_entries());
  const ImatrixSums back = load_imatrix_sums(p);
  EXPECT_EQ(back.datasets, std::vector<std::string>{"calib.txt"});
  EXPECT_EQ(back.chunk_count, 3);
  EXPECT_EQ(back.chunk_size, 128);
  ASSERT_EQ(back.entries.size(), 2u);
  EXPECT_EQ(back.entries.at("blk.0.attn_q.weight").sums, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(back.entries.at("blk.1.ffn_down_exps.weight").counts, (std::vector<float>{10, 0, 5}));
  // The importance llama-quantize derives: sums / count per expert, 1 where none was seen.
  const Imatrix im = load_imatrix(p);
  EXPECT_EQ(im.entries.at("blk.0.attn_q.weight"), (std::vector<float>{1 / 384.f, 2 / 384.f, 3 / 384.f, 4 / 384.f}));
  EXPECT_EQ(im.entries.at("blk.1.ffn_down_exps.weight"), (std::vector<float>{0.1f, 0.2f, 1, 1, 1.f, 1.2f}));
}

TEST(ImatrixWriter, ShapesAsGgmlStoresThem) {
  TempDir d;
  const std::string p = (d.path / "im.gguf").string();
  write_imatrix(p, two_entries());
  const auto f = gguf::File::open(p);
  EXPECT_EQ(f->find_tensor("blk.0.attn_q.weight.in_sum2")->shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(f->find_tensor("blk.0.attn_q.weight.counts")->shape, (std::vector<int64_t>{1}));
  EXPECT_EQ(f->find_tensor("blk.1.ffn_down_exps.weight.in_sum2")->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(f->find_tensor("blk.1.ffn_down_exps.weight.counts")->shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(f->metadata().get_string("general.type"), "imatrix");
}

TEST(ImatrixWriter, RefusesSumsThatDoNotSplitAndLeavesNoFile) {
  TempDir d;
  ImatrixSums im = two_entries();
  im.entries["blk.0.attn_q.weight"].counts = {1, 1, 1};  // 4 sums over 3 counts
  const auto p = d.path / "bad.gguf";
  EXPECT_THROW(write_imatrix(p.string(), im), Error);
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST(ImatrixMerge, AddsSumsCountsDatasetsAndChunks) {
  ImatrixSums a = two_entries();
  ImatrixSums b = two_entries();
  b.entries.erase("blk.1.ffn_down_exps.weight");
  b.entries["blk.2.attn_k.weight"] = {{7, 8}, {2}};
  b.datasets = {"more.txt"};
  merge_imatrix_sums(a, b, "b.gguf");
  EXPECT_EQ(a.entries.at("blk.0.attn_q.weight").sums, (std::vector<float>{2, 4, 6, 8}));
  EXPECT_EQ(a.entries.at("blk.0.attn_q.weight").counts, (std::vector<float>{768}));
  EXPECT_EQ(a.entries.at("blk.1.ffn_down_exps.weight").counts, (std::vector<float>{10, 0, 5}));
  EXPECT_EQ(a.entries.at("blk.2.attn_k.weight").sums, (std::vector<float>{7, 8}));
  EXPECT_EQ(a.datasets, (std::vector<std::string>{"calib.txt", "more.txt"}));
  EXPECT_EQ(a.chunk_count, 6);
}

TEST(ImatrixMerge, RefusesAnotherShapeNamingTheEntry) {
  ImatrixSums a = two_entries();
  ImatrixSums b = two_entries();
  b.entries["blk.0.attn_q.weight"].sums = {1, 2};
  try {
    merge_imatrix_sums(a, b, "other.gguf");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other.gguf: imatrix entry 'blk.0.attn_q.weight'"), std::string::npos)
        << e.what();
  }
}

TEST(ImatrixMerge, LegacyFilesCannotBeContinued) {
  TempDir d;
  Legacy l;
  l.i32(1);
  l.entry("blk.0.attn_q.weight", 2, {2, 4});
  const std::string p = write_bytes(d, "old.dat", l.b);
  try {
    load_imatrix_sums(p);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace r1
