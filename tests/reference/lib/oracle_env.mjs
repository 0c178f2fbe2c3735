// Environment of the oracle, set before node-llama-cpp loads the ggml libraries (imported
// first by llama.mjs; ES modules evaluate their imports in order). Nothing is set at present.
//
// Note on GGML_NO_IQ_PANEL (llama.cpp's switch for its batched i-quant GEMM, ggml-cpu/iqp.cpp):
// the panel (batches of >= 8 tokens) adds each super-block's integer sum in float, its vec_dot
// path (smaller batches) converts 8 int32 lanes per super-block. On the random-codebook test
// models the two orders differ by up to 0.1 in log p, so r1 follows both (see
// src/kernels/vec_dot_iq_avx2.cpp) and the oracle runs llama.cpp as users do, panel on.
export {};
