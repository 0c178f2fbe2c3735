// r1: command-line front end. Subcommands live in one file each (cmd_*.cpp) and
// register themselves (command.hpp); this file only dispatches and reports errors.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <map>

#include "base/error.hpp"
#include "cli/command.hpp"

namespace r1::cli {

static std::vector<CommandSpec>& registry() {
  static std::vector<CommandSpec> r;
  return r;
}

bool register_command(CommandSpec spec) {
  registry().push_back(std::move(spec));
  return true;
}

const std::vector<CommandSpec>& commands() { return registry(); }

}  // namespace r1::cli

int main(int argc, char** argv) {
  CLI::App app{"r1: run, inspect, tune and benchmark DeepSeek-R1-class reasoning models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "r1 0.1.0");
  std::map<CLI::App*, r1::cli::Action> actions;
  auto specs = r1::cli::commands();
  std::sort(specs.begin(), specs.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& spec : specs) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.help);
    actions[sub] = spec.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, like every other error; `r1 SUBCOMMAND --help` explains the flags.
    std::fprintf(stderr, "r1: %s (see r1 --help)\n", e.what());
    return 2;
  }
  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
  } catch (const r1::Error& e) {
    std::fprintf(stderr, "r1: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "r1: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "r1: internal error: %s\n", e.what());
    return 2;
  }
  return 1;
}
