// Trace writer tests: field values, valid JSON for invalid UTF-8, appending, no
// interleaving under concurrent writers (threads and processes), errors.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "engine/trace.hpp"

namespace fs = std::filesystem;
using r1::TraceRecord;
using r1::TraceWriter;

namespace {

fs::path temp_file(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("r1_trace_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / name;
  fs::remove(p);
  return p;
}

std::vector<std::string> read_lines(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

TraceRecord sample_record() {
  TraceRecord r;
  r.model = "/models/r1.gguf";
  r.prompt = nlohmann::ordered_json::array({{{"role", "user"}, {"content", "2+2?"}}});
  r.prompt_text = "<｜User｜>2+2?<｜Assistant｜><think>\n";
  r.reasoning = "2 plus 2 is 4.";
  r.content = "**4**";
  r.finish_reason = "stop";
  r.prompt_tokens = 10;
  r.cached_tokens = 2;
  r.reasoning_tokens = 7;
  r.content_tokens = 3;
  r.generated_tokens = 10;
  r.prefill_ms = 400;
  r.decode_ms = 2000;
  r.sampling.temperature = 0.6f;
  r.sampling.top_p = 0.95f;
  r.seed = 42;
  r.extra["id"] = "req-1";
  return r;
}

}  // namespace

TEST(Trace, RecordFields) {
  auto p = temp_file("fields.jsonl");
  {
    TraceWriter w(p.string());
    w.append(sample_record());
  }
  auto lines = read_lines(p);
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["model"], "/models/r1.gguf");
  EXPECT_EQ(j["prompt"][0]["content"], "2+2?");
  EXPECT_EQ(j["prompt_text"], "<｜User｜>2+2?<｜Assistant｜><think>\n");
  EXPECT_EQ(j["reasoning"], "2 plus 2 is 4.");
  EXPECT_EQ(j["content"], "**4**");
  EXPECT_EQ(j["finish_reason"], "stop");
  EXPECT_EQ(j["tokens"]["prompt"], 10);
  EXPECT_EQ(j["tokens"]["cached"], 2);
  EXPECT_EQ(j["tokens"]["reasoning"], 7);
  EXPECT_EQ(j["tokens"]["content"], 3);
  EXPECT_EQ(j["tokens"]["generated"], 10);
  EXPECT_DOUBLE_EQ(j["timings"]["prefill_tps"].get<double>(), 20.0);  // 8 tokens in 0.4 s
  EXPECT_DOUBLE_EQ(j["timings"]["decode_tps"].get<double>(), 5.0);    // 10 tokens in 2 s
  EXPECT_NEAR(j["sampling"]["temperature"].get<double>(), 0.6, 1e-6);
  EXPECT_NEAR(j["sampling"]["top_p"].get<double>(), 0.95, 1e-6);
  EXPECT_EQ(j["sampling"]["seed"], 42);
  EXPECT_EQ(j["id"], "req-1");
  const std::string t = j["time"];
  ASSERT_EQ(t.size(), 24u);  // 2025-01-31T12:00:00.123Z
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t.back(), 'Z');
}

TEST(Trace, AppendsAndKeepsExistingLines) {
  auto p = temp_file("append.jsonl");
  { std::ofstream(p) << "{\"old\":1}\n"; }
  {
    TraceWriter w(p.string());
    w.append(sample_record());
  }
  {
    TraceWriter w(p.string());
    w.append_json({{"n", 3}});
  }
  auto lines = read_lines(p);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "{\"old\":1}");
  EXPECT_EQ(nlohmann::json::parse(lines[2])["n"], 3);
}

TEST(Trace, InvalidUtf8BecomesReplacementCharacter) {
  auto p = temp_file("utf8.jsonl");
  TraceRecord r = sample_record();
  r.content = std::string("ok \xff\xfe end");
  r.reasoning = std::string("cut \xe4\xbd");  // truncated multi-byte character
  TraceWriter(p.string()).append(r);
  auto lines = read_lines(p);
  ASSERT_EQ(lines.size(), 1u);
  auto j = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(j["content"].get<std::string>().find("ok "), 0u);
  EXPECT_NE(j["content"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);
  EXPECT_NE(j["reasoning"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);
}

TEST(Trace, ConcurrentWritersNeverInterleave) {
  auto p = temp_file("concurrent.jsonl");
  constexpr int kThreads = 4, kProcs = 3, kLines = 30;
  // Big lines (~200 KB) make partial interleaving likely if writes were split.
  auto writer = [&](int who) {
    TraceWriter w(p.string());
    for (int i = 0; i < kLines; ++i) {
      TraceRecord r = sample_record();
      r.content = std::string(200000 + who * 1000 + i, char('a' + who));
      r.extra["who"] = who;
      r.extra["i"] = i;
      w.append(r);
    }
  };
  std::vector<pid_t> pids;
  for (int k = 0; k < kProcs; ++k) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      try {
        writer(kThreads + k);
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(writer, t);
  for (auto& t : threads) t.join();
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  auto lines = read_lines(p);
  ASSERT_EQ(lines.size(), size_t((kThreads + kProcs) * kLines));
  std::vector<std::vector<int>> seen(kThreads + kProcs);
  for (const auto& line : lines) {
    auto j = nlohmann::json::parse(line);  // throws on an interleaved line
    const int who = j["who"], i = j["i"];
    const std::string& c = j["content"].get_ref<const std::string&>();
    ASSERT_EQ(c.size(), size_t(200000 + who * 1000 + i));
    ASSERT_EQ(c.find_first_not_of(char('a' + who)), std::string::npos);
    seen[who].push_back(i);
  }
  for (auto& s : seen) {
    ASSERT_EQ(s.size(), size_t(kLines));
    for (int i = 0; i < kLines; ++i) EXPECT_EQ(s[i], i);  // each writer's lines in order
  }
}

TEST(Trace, Errors) {
  EXPECT_THROW(TraceWriter("/nonexistent-dir-r1/x.jsonl"), r1::Error);
  EXPECT_THROW(TraceWriter(fs::temp_directory_path().string()), r1::Error);  // a directory
  if (fs::exists("/dev/full")) {
    TraceWriter w("/dev/full");
    EXPECT_THROW(w.append(sample_record()), r1::Error);
  }
}
