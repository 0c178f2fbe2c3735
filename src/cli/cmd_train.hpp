// `r1 train` subcommands (cmd_train_sft.cpp, cmd_train_grpo.cpp), registered by
// cmd_train.cpp under one "train" command.
#pragma once
#include <CLI/CLI.hpp>

#include "cli/command.hpp"

namespace r1::cli {

Action setup_train_sft(CLI::App& sub);
Action setup_train_grpo(CLI::App& sub);

}  // namespace r1::cli
