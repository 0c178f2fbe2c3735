// r1 pull REF, r1 list, r1 rm REF: models from Hugging Face (hf://ORG/REPO[:QUANT]) and
// ollama registries (NAME:TAG) in the caches those tools share (pull/pull.hpp).
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "cli/command.hpp"
#include "pull/cancel.hpp"
#include "pull/pull.hpp"

namespace r1::cli {
namespace {

struct PullCliOptions {
  std::string ref;
  bool offline = false, quiet = false;
};

std::string mib(uint64_t b) { return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024.0 * 1024.0)); }

int run_pull(const PullCliOptions& c) {
  pull::install_interrupt_handler();
  const pull::ModelRef ref = pull::parse_model_ref(c.ref);
  pull::PullOptions o;
  o.offline = c.offline;
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (!c.quiet) {
    o.note = [](const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); };
    if (tty)
      o.progress = [](const std::string& file, uint64_t done, uint64_t total) {
        if (total > 0)
          std::fprintf(stderr, "\r\033[K%s  %3.0f%%  %s / %s", file.c_str(), 100.0 * static_cast<double>(done) / total,
                       mib(done).c_str(), mib(total).c_str());
        else std::fprintf(stderr, "\r\033[K%s  %s", file.c_str(), mib(done).c_str());
        std::fflush(stderr);
      };
  }
  const auto files = pull::pull(ref, o);
  if (!c.quiet && tty && o.progress) std::fprintf(stderr, "\r\033[K");
  for (const auto& f : files) std::printf("%s\n", f.string().c_str());
  if (!c.quiet) std::fprintf(stderr, "%s: %zu file(s); run it with: r1 run -m %s\n", ref.text().c_str(), files.size(),
                             c.ref.c_str());
  return 0;
}

int run_list() {
  const auto all = pull::list_pulled();
  std::printf("%-60s %12s  %s\n", "NAME", "SIZE", "FILE");
  for (const auto& m : all) std::printf("%-60s %12s  %s\n", m.name.c_str(), mib(m.bytes).c_str(), m.file.string().c_str());
  return 0;
}

int run_rm(const std::string& ref_text, bool quiet) {
  const auto removed = pull::remove_pulled(pull::parse_model_ref(ref_text));
  if (!quiet)
    for (const auto& p : removed) std::fprintf(stderr, "removed %s\n", p.string().c_str());
  return 0;
}

const bool registered_pull = register_command({
    .name = "pull",
    .help = "download a model: hf://ORG/REPO[:QUANT or FILE][@REV] or an ollama NAME[:TAG]",
    .setup = [](CLI::App& sub) -> Action {
      auto o = std::make_shared<PullCliOptions>();
      sub.add_option("ref", o->ref, "hf://ORG/REPO[:QUANT or FILE.gguf][@REVISION] or [HOST/][NS/]NAME[:TAG]")
          ->required();
      sub.add_flag("--offline", o->offline, "only resolve from the caches (also HF_HUB_OFFLINE=1)");
      sub.add_flag("-q,--quiet", o->quiet, "print only the file paths");
      return [o] { return run_pull(*o); };
    }});

const bool registered_list = register_command({
    .name = "list",
    .help = "list pulled models (Hugging Face hub cache and ollama store)",
    .setup = [](CLI::App&) -> Action { return [] { return run_list(); }; }});

const bool registered_rm = register_command({
    .name = "rm",
    .help = "remove a pulled model and the files no other model uses",
    .setup = [](CLI::App& sub) -> Action {
      auto ref = std::make_shared<std::string>();
      auto quiet = std::make_shared<bool>(false);
      sub.add_option("ref", *ref, "as given to r1 pull")->required();
      sub.add_flag("-q,--quiet", *quiet, "no list of removed files");
      return [ref, quiet] { return run_rm(*ref, *quiet); };
    }});

}  // namespace
}  // namespace r1::cli
