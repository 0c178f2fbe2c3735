// The pure parts of `r1 pull` (src/pull/): name grammar, the GGUF file choice, the names a
// server may give, cache paths and digests. Digest values are the published test vectors
// (FIPS 180-2 "abc") and git's own blob ids (`git hash-object` of the same bytes).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "pull/digest.hpp"
#include "pull/hf_cache.hpp"
#include "pull/model_ref.hpp"
#include "pull/pull_env.hpp"
#include "pull/safe_names.hpp"

namespace r1::pull {
namespace {

TEST(PullRef, HuggingFaceNames) {
  ModelRef r = parse_model_ref("hf://unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF:Q4_K_M");
  EXPECT_EQ(r.kind, ModelRef::Kind::hf);
  EXPECT_EQ(r.repo, "unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF");
  EXPECT_EQ(r.selector, "Q4_K_M");
  EXPECT_EQ(r.revision, "main");
  r = parse_model_ref("hf://org/repo:sub/model-q8_0.gguf@v1.0");
  EXPECT_EQ(r.selector, "sub/model-q8_0.gguf");
  EXPECT_EQ(r.revision, "v1.0");
  EXPECT_EQ(r.text(), "hf://org/repo:sub/model-q8_0.gguf@v1.0");
  for (const char* bad : {"hf://repo-without-org", "hf://org/re--po", "hf://org/repo:", "hf://org/repo:../x.gguf",
                          "hf://org/repo@../../etc", "hf://-org/repo", "hf://org/repo/extra"})
    EXPECT_THROW(parse_model_ref(bad), Error) << bad;
}

TEST(PullRef, OllamaNames) {
  ModelRef r = parse_model_ref("deepseek-r1:1.5b");
  EXPECT_EQ(r.kind, ModelRef::Kind::ollama);
  EXPECT_EQ(r.text(), "registry.ollama.ai/library/deepseek-r1:1.5b");
  r = parse_model_ref("user/model");
  EXPECT_EQ(r.text(), "registry.ollama.ai/user/model:latest");
  r = parse_model_ref("example.com:5000/ns/name:tag");
  EXPECT_EQ(r.host, "example.com:5000");
  EXPECT_EQ(r.text(), "example.com:5000/ns/name:tag");
  EXPECT_THROW(parse_model_ref("example.com:50a0/ns/name:tag"), Error);
  for (const char* bad : {"a/b/c/d", "../x:1", "name:ta/g", "na me:1", ""}) EXPECT_THROW(parse_model_ref(bad), Error) << bad;
}

TEST(PullRef, WhatMinusMTakesForAPulledName) {
  EXPECT_TRUE(is_pulled_model_name("hf://org/repo:Q4_K_M"));
  EXPECT_TRUE(is_pulled_model_name("deepseek-r1:1.5b"));
  EXPECT_FALSE(is_pulled_model_name("model.gguf"));
  EXPECT_FALSE(is_pulled_model_name("dir/model-q4:0.gguf"));
  EXPECT_FALSE(is_pulled_model_name("plainword"));  // a missing file, reported as such
  EXPECT_FALSE(is_pulled_model_name("/"));          // an existing path
}

TEST(PullSelect, QuantTagsFilesAndSplitParts) {
  const std::vector<std::string> files = {"README.md", "m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "m-Q8_0.gguf",
                                          "big/m-Q2_K-00002-of-00002.gguf", "big/m-Q2_K-00001-of-00002.gguf"};
  EXPECT_EQ(select_gguf_files(files, "q4_k_m", "o/r"), std::vector<std::string>{"m-Q4_K_M.gguf"});
  EXPECT_EQ(select_gguf_files(files, "", "o/r"), std::vector<std::string>{"m-Q4_K_M.gguf"});  // llama.cpp's default
  EXPECT_EQ(select_gguf_files(files, "m-Q8_0.gguf", "o/r"), std::vector<std::string>{"m-Q8_0.gguf"});
  EXPECT_EQ(select_gguf_files(files, "Q2_K", "o/r"),
            (std::vector<std::string>{"big/m-Q2_K-00001-of-00002.gguf", "big/m-Q2_K-00002-of-00002.gguf"}));
  try {
    select_gguf_files(files, "IQ1_S", "o/r");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no GGUF file matches 'IQ1_S'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(select_gguf_files({"x-Q2_K-00001-of-00003.gguf", "x-Q2_K-00002-of-00003.gguf"}, "Q2_K", "o/r"), Error);
  EXPECT_EQ(select_gguf_files({"only.gguf"}, "", "o/r"), std::vector<std::string>{"only.gguf"});
}

TEST(PullNames, ServerNamesThatWouldLeaveTheCacheAreRefused) {
  for (const char* bad : {"../x", "a/../b", "/abs", "a//b", "a\\b", "", "a/./b"}) EXPECT_FALSE(is_safe_relative_path(bad)) << bad;
  EXPECT_TRUE(is_safe_relative_path("dir/model.gguf"));
  EXPECT_FALSE(is_safe_component(".."));
  EXPECT_FALSE(is_safe_component("a/b"));
  EXPECT_TRUE(is_safe_component("0123abc"));
  EXPECT_THROW(check_sha256_digest("sha256:../../etc/passwd", "layer"), Error);
  EXPECT_THROW(check_sha256_digest("sha512:" + std::string(64, 'a'), "layer"), Error);
  EXPECT_EQ(check_sha256_digest("sha256:" + std::string(64, 'b'), "layer"), std::string(64, 'b'));
}

TEST(PullEnv, HubCacheFollowsHuggingFaceHubsOrder) {
  ::setenv("HF_HUB_CACHE", "/x/hub", 1);
  EXPECT_EQ(hf_hub_cache_dir(), "/x/hub");
  EXPECT_EQ(hf_repo_dir("org/name"), std::filesystem::path("/x/hub/models--org--name"));
  ::unsetenv("HF_HUB_CACHE");
  ::setenv("HF_HOME", "/y", 1);
  EXPECT_EQ(hf_hub_cache_dir(), "/y/hub");
  ::unsetenv("HF_HOME");
  ::setenv("HF_ENDPOINT", "http://127.0.0.1:9/", 1);
  EXPECT_EQ(hf_endpoint(), "http://127.0.0.1:9");
  ::unsetenv("HF_ENDPOINT");
  EXPECT_EQ(hf_endpoint(), "https://huggingface.co");
}

TEST(PullDigest, KnownValues) {
  Hasher h;
  h.update("abc", 3);
  EXPECT_EQ(h.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Hasher g(DigestKind::git_blob_sha1, 6);
  g.update("hello\n", 6);
  EXPECT_EQ(g.hex(), "ce013625030ba8dba906f756967f9e9ca394464a");  // git hash-object of "hello\n"
  const auto p = std::filesystem::temp_directory_path() / "r1-pull-digest-test";
  std::ofstream(p, std::ios::binary) << "hello\n";
  EXPECT_EQ(file_digest(p.string(), DigestKind::git_blob_sha1), "ce013625030ba8dba906f756967f9e9ca394464a");
  std::filesystem::remove(p);
}

}  // namespace
}  // namespace r1::pull
