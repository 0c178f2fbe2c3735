// Files the eval layer writes (SVG plots; the CSV / JSON summaries go through the same
// helper): writers of one path at once never corrupt each other, and no temporary
// file is left behind.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eval/plot.hpp"

namespace fs = std::filesystem;
using namespace r1::eval;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(EvalFiles, ConcurrentWritersOfOnePlotDoNotCorruptIt) {
  const fs::path dir = fs::temp_directory_path() / ("r1_eval_files_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "curve.svg").string();
  constexpr int kThreads = 4, kWrites = 40;
  std::vector<std::vector<PlotPanel>> plots;
  std::set<std::string> renders;
  for (int t = 0; t < kThreads; ++t) {
    PlotSeries se{"writer " + std::to_string(t), {}, {}};
    for (int i = 0; i < 2000 * (t + 1); ++i) {  // different sizes, so a mix shows
      se.x.push_back(i);
      se.y.push_back((i * (t + 3)) % 17);
    }
    plots.push_back({PlotPanel{"panel of writer " + std::to_string(t), "x", {se}, false}});
    renders.insert(render_svg(plots.back()));
  }
  std::atomic<int> errors{0}, corrupt{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        try {
          write_svg(path, plots[static_cast<size_t>(t)]);
        } catch (const std::exception&) {
          errors.fetch_add(1);
        }
        // Whatever is there now is one writer's whole file.
        if (!renders.count(read_all(path))) corrupt.fetch_add(1);
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0) << "a writer failed because another one renamed its temporary file";
  EXPECT_EQ(corrupt.load(), 0) << "a reader saw a mix of two writers' files";
  EXPECT_TRUE(renders.count(read_all(path)));
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename(), "curve.svg") << "left behind: " << e.path();
  fs::remove_all(dir);
}

}  // namespace
