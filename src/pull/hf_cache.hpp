// The Hugging Face hub cache layout (huggingface_hub's file_download conventions), shared
// with huggingface_hub and llama.cpp: models--ORG--REPO/{blobs,snapshots,refs}.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "pull/model_ref.hpp"
#include "pull/pull.hpp"

namespace r1::pull {

std::filesystem::path hf_repo_dir(const std::string& repo);  // under hf_hub_cache_dir()

// The GGUF files of `names` that `selector` picks (model_ref.hpp): a file name exactly, a
// quant tag by substring (all parts of a split file), or with no selector the only GGUF /
// the Q4_K_M one. Throws naming the candidates when none or several different files match.
std::vector<std::string> select_gguf_files(const std::vector<std::string>& names, const std::string& selector,
                                           const std::string& repo);

std::vector<std::filesystem::path> pull_hf(const ModelRef& ref, const PullOptions& opts);
std::vector<std::filesystem::path> pull_ollama(const ModelRef& ref, const PullOptions& opts);
std::vector<PulledModel> list_hf();
std::vector<PulledModel> list_ollama();
std::vector<std::filesystem::path> remove_hf(const ModelRef& ref);
std::vector<std::filesystem::path> remove_ollama(const ModelRef& ref);

}  // namespace r1::pull
