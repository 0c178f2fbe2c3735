// Environment of the oracle, set before node-llama-cpp loads the ggml libraries (imported
// first by llama.mjs; ES modules evaluate their imports in order).
//
// GGML_NO_IQ_PANEL: llama.cpp's batched "IQ panel" GEMM (ggml-cpu/iqp.cpp, i-quant products of
// >= 8 tokens) does not reproduce its own vec_dot path. On the tiny random qwen2 IQ4_XS model
// (seed 202) r1 agrees with llama.cpp's vec_dot path to mean KL 1e-6 (max |d log p| 3e-6) and
// differs from the panel path by mean KL 1.6e-5 (max |d log p| 9e-2). The oracle is the format's
// definition, so the panel is off here. Benchmarks (bench/) leave it on: llama.cpp at its fastest.
process.env.GGML_NO_IQ_PANEL ??= "1";
