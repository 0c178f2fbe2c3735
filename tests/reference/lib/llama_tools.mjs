// llama.cpp's own command-line tools, built for the tests from the llama.cpp source that
// node-llama-cpp ships (node_modules/node-llama-cpp/llama/gitRelease.bundle, the release
// its binaries were built from) and linked against those prebuilt binaries
// (libllama-common, libllama, libggml*): llama-imatrix and llama-quantize exactly as the
// release's users run them. Only the tools' own main files are compiled (seconds).
//
// Contract: llamaTools(dir) -> {imatrix, quantize} absolute paths, built once into
// dir/llama-tools (reused while newer than the bundle). The binaries find the CPU backends
// next to themselves (ggml_backend_load_all looks in the executable's directory).
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, "..", "node_modules");
const BUNDLE = path.join(modules, "node-llama-cpp", "llama", "gitRelease.bundle");
const BINS = path.join(modules, "@node-llama-cpp", "linux-x64", "bins", "linux-x64");

const TOOLS = {
  imatrix: ["tools/imatrix/imatrix.cpp"],
  quantize: ["tools/quantize/quantize.cpp", "tools/quantize/main.cpp"],
};

function fresh(file, than) {
  return fs.existsSync(file) && fs.statSync(file).mtimeMs >= fs.statSync(than).mtimeMs;
}

export function llamaTools(dir) {
  const src = path.join(dir, "llama.cpp-src"), bin = path.join(dir, "llama-tools");
  if (!fs.existsSync(path.join(src, "include", "llama.h"))) {
    fs.rmSync(src, {recursive: true, force: true});
    execFileSync("git", ["-c", "advice.detachedHead=false", "clone", "--quiet", BUNDLE, src], {stdio: "pipe"});
  }
  fs.mkdirSync(bin, {recursive: true});
  // Link names for -l, and every CPU backend variant beside the tools.
  const links = {"libllama.so": "libllama.v0.4.0.so", "libggml.so": "libggml.v0.4.0.so"};
  for (const f of fs.readdirSync(BINS)) if (f.endsWith(".so")) links[f] = f;
  for (const [name, target] of Object.entries(links)) {
    const p = path.join(bin, name);
    fs.rmSync(p, {force: true});
    fs.symlinkSync(path.join(BINS, target), p);
  }
  const out = {};
  for (const [tool, files] of Object.entries(TOOLS)) {
    const exe = path.join(bin, `llama-${tool}`);
    if (!fresh(exe, BUNDLE)) {
      execFileSync("g++", ["-O1", "-std=c++17", ...["include", "ggml/include", "common", "vendor"].map(d => `-I${path.join(src, d)}`),
                           ...files.map(f => path.join(src, f)), `-L${bin}`, "-lllama-common", "-lllama", "-lggml",
                           "-lggml-base", `-Wl,-rpath,${bin}`, "-o", exe + ".tmp"], {stdio: "pipe"});
      fs.renameSync(exe + ".tmp", exe);
    }
    out[tool] = exe;
  }
  return out;
}
