// AtomicFile / write_file_atomic / AppendFile (base/atomic_file.hpp): unique
// temporary names, concurrent writers, failures that leave the old file intact and
// no temporary behind, modes, whole log lines.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/atomic_file.hpp"
#include "base/error.hpp"

namespace fs = std::filesystem;

namespace r1 {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("r1_atomic_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static void put(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }
  // Names in the directory (sorted), to check that no temporary file is left.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  fs::path dir_;
};

TEST_F(AtomicFileTest, WritesWholeFileAndLeavesNothingElse) {
  const std::string p = file("out.csv");
  write_file_atomic(p, "a,b\n1,2\n");
  EXPECT_EQ(read(p), "a,b\n1,2\n");
  write_file_atomic(p, "replaced\n");
  EXPECT_EQ(read(p), "replaced\n");
  EXPECT_EQ(listing(), std::vector<std::string>{"out.csv"});
}

TEST_F(AtomicFileTest, TemporaryNamesAreUniqueAndWritersDoNotMix) {
  const std::string p = file("same.json");
  AtomicFile a(p), b(p);
  EXPECT_NE(a.temp_path(), b.temp_path());
  EXPECT_EQ(fs::path(a.temp_path()).parent_path(), dir_) << "the temporary file must be in the target's directory";
  a.write("from a, part 1; ");
  b.write("from b, part 1; ");
  a.write("from a, part 2");
  b.write("from b, part 2");
  a.commit();
  EXPECT_EQ(read(p), "from a, part 1; from a, part 2");
  b.commit();
  EXPECT_EQ(read(p), "from b, part 1; from b, part 2");
  EXPECT_EQ(listing(), std::vector<std::string>{"same.json"});
}

TEST_F(AtomicFileTest, ConcurrentWritersLeaveOneWholeFile) {
  const std::string p = file("curve.csv");
  constexpr int kThreads = 6, kWrites = 30;
  std::atomic<int> errors{0}, mixed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      const std::string body(100000 + 1000 * t, static_cast<char>('a' + t));
      for (int i = 0; i < kWrites; ++i) {
        try {
          write_file_atomic(p, body);
        } catch (const Error&) {
          errors.fetch_add(1);
        }
        const std::string now = read(p);
        if (now.empty() || now != std::string(now.size(), now[0]) || now.size() != 100000 + 1000 * size_t(now[0] - 'a'))
          mixed.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(mixed.load(), 0);
  EXPECT_EQ(listing(), std::vector<std::string>{"curve.csv"});
}

TEST_F(AtomicFileTest, ThrowingWriterLeavesOldFileAndNoTemporary) {
  const std::string p = file("tokenizer.json");
  put(p, "old content");
  std::string temp;
  EXPECT_THROW(write_file_atomic(p,
                                 [&](AtomicFile& f) {
                                   temp = f.temp_path();
                                   f.write("half of the new con");
                                   throw std::runtime_error("the writer failed");
                                 }),
               std::runtime_error);
  EXPECT_FALSE(temp.empty());
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(read(p), "old content");
  EXPECT_EQ(listing(), std::vector<std::string>{"tokenizer.json"});
}

TEST_F(AtomicFileTest, FailedRenameLeavesOldFileAndNoTemporary) {
  // A directory where the file should go: the rename fails (also as root, unlike a
  // read-only directory).
  const std::string p = file("samples.jsonl");
  fs::create_directories(p);
  put(p + "/keep", "old");
  try {
    write_file_atomic(p, "new");
    FAIL() << "expected r1::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_NE(msg.find("directory"), std::string::npos) << msg;  // strerror(EISDIR)
  }
  EXPECT_EQ(read(p + "/keep"), "old");
  EXPECT_EQ(listing(), std::vector<std::string>{"samples.jsonl"});
}

TEST_F(AtomicFileTest, MissingDirectoryIsAnErrorNamingThePath) {
  const std::string p = file("no/such/dir/out.svg");
  try {
    write_file_atomic(p, "x");
    FAIL() << "expected r1::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

TEST_F(AtomicFileTest, KeepsTheModeOfTheFileItReplaces) {
  const std::string p = file("task.jsonl");
  put(p, "x");
  ASSERT_EQ(::chmod(p.c_str(), 0640), 0);
  write_file_atomic(p, "y");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // A new file gets 0666 less the umask (not mkstemp's 0600).
  const mode_t mask = ::umask(022);
  write_file_atomic(file("new.jsonl"), "z");
  ::umask(mask);
  ASSERT_EQ(::stat(file("new.jsonl").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(AtomicFileTest, AppendFileWritesWholeLinesAndRejectsNewlines) {
  const std::string p = file("log.jsonl");
  {
    AppendFile f(p);
    f.append_line(R"({"a":1})");
    f.append_line(R"({"b":2})");
    f.sync();
    EXPECT_THROW(f.append_line("two\nlines"), Error);
  }
  AppendFile(p).append_line(R"({"c":3})");  // appends, does not truncate
  EXPECT_EQ(read(p), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
}

}  // namespace
}  // namespace r1
