// Subcommand registry for the `r1` program. Each cmd_*.cpp registers itself at
// static-initialisation time:
//
//   static const bool registered = r1::cli::register_command({
//       .name = "inspect", .help = "print a model file's metadata and tensors",
//       .setup = [](CLI::App& sub) -> r1::cli::Action {
//         auto o = std::make_shared<InspectOptions>();
//         sub.add_option("file", o->path)->required();
//         return [o] { return run_inspect(*o); };
//       }});
//
// An Action returns the process exit code. r1::Error thrown from an action is
// printed as "r1: <message>" on stderr with exit code 1 (main.cpp does that).
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace r1::cli {

using Action = std::function<int()>;

struct CommandSpec {
  std::string name;
  std::string help;
  std::function<Action(CLI::App&)> setup;
};

bool register_command(CommandSpec spec);
const std::vector<CommandSpec>& commands();

}  // namespace r1::cli
