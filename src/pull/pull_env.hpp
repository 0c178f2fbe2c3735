// Where pulled models live and how the registries are reached, from the environment
// (the same variables huggingface_hub and ollama read, so the caches are shared).
#pragma once
#include <filesystem>
#include <string>

namespace r1::pull {

// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (huggingface_hub's order).
std::filesystem::path hf_hub_cache_dir();
// $HF_ENDPOINT without a trailing '/', else https://huggingface.co.
std::string hf_endpoint();
// $HF_TOKEN, else the first line of $HF_TOKEN_PATH, else of $HF_HOME/token; "" if none.
std::string hf_token();
// HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set to 1 / ON / YES / TRUE.
bool offline_from_env();

// $OLLAMA_MODELS, else ~/.ollama/models (ollama's own store; r1 reads and writes it).
std::filesystem::path ollama_models_dir();
// The base URL for an ollama registry host: $R1_OLLAMA_REGISTRY for the default host
// registry.ollama.ai (tests point it at a loopback server), else https://<host>.
std::string ollama_registry_base(const std::string& host);

// The home directory ($HOME, else the password database); throws r1::Error if unknown.
std::filesystem::path home_dir();

}  // namespace r1::pull
