#!/usr/bin/python3
"""Independent test writer: a Hugging Face checkpoint directory from a GGUF twin.

Reads an F32 GGUF written by `r1 gen-model` (qwen2, llama, qwen3 or deepseek2) and writes
the directory transformers would load for the same weights: config.json, model.safetensors
(or N shards + model.safetensors.index.json), tokenizer.json, tokenizer_config.json and
generation_config.json, with the transformers tensor names and layouts. Written from the
published formats only (safetensors README, transformers' modeling code, the GGUF spec);
it shares no code with r1. Layout facts it encodes (the inverse of what a converter does):

  - GGUF {cols, rows} F32 is the HF [rows, cols] matrix, same element order.
  - llama q_proj / k_proj: HF rows are in rotate-half order. Within a head of D rows, GGUF
    row 2i + j holds HF row j * D/2 + i.
  - deepseek2: routed experts are one HF matrix per expert (mlp.experts.<e>.*); kv_b_proj
    [H * (nope + v), kv_lora] holds per head the transposed attn_k_b matrix, then attn_v_b.
  - llama rope_freqs is not a checkpoint tensor: config.json's rope_scaling (llama3) gives it.

--dtype stores the weights as f32, f16, bf16 (round to nearest even) or fp8 (DeepSeek-V3
style: 2-D projection weights as F8_E4M3 with one F32 weight_scale_inv per 128 x 128 block,
everything else BF16). --expected writes the twin with every tensor replaced by the exact
value the checkpoint stores (identical to the input for f32), so that a converter's F32
output can be compared with it bit for bit.

Usage: hf_writer.py TWIN.gguf OUT_DIR [--dtype f32|f16|bf16|fp8] [--shards N] [--expected F]
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np

# ---- GGUF reader (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md) ----------

SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Gguf:
    def __init__(self, path):
        self.path = path
        self.raw = open(path, "rb").read()
        self.pos = 0
        magic = self.raw[:4]
        if magic != b"GGUF":
            raise SystemExit(f"{path}: not a GGUF file")
        self.pos = 4
        self.version = self.u32()
        n_tensors, n_kv = self.u64(), self.u64()
        self.meta = {}
        for _ in range(n_kv):
            key = self.string()
            self.meta[key] = self.value(self.u32())
        self.tensors = {}
        order = []
        for _ in range(n_tensors):
            name = self.string()
            dims = [self.u64() for _ in range(self.u32())]
            ttype, offset = self.u32(), self.u64()
            order.append((name, dims, ttype, offset))
        align = self.meta.get("general.alignment", 32)
        data = (self.pos + align - 1) // align * align
        self.types = {}
        for name, dims, ttype, offset in order:
            n = int(np.prod(dims))
            start = data + offset
            self.types[name] = ttype
            if ttype == 0:  # F32
                arr = np.frombuffer(self.raw, dtype="<f4", count=n, offset=start)
            elif ttype == 1:  # F16
                arr = np.frombuffer(self.raw, dtype="<f2", count=n, offset=start).astype(np.float32)
            elif ttype == 30:  # BF16
                arr = bf16_bits_to_f32(np.frombuffer(self.raw, dtype="<u2", count=n, offset=start))
            else:
                raise SystemExit(f"{path}: tensor {name} is not F32, F16 or BF16 (type {ttype})")
            # GGML dims are innermost first: numpy shape is the reverse
            self.tensors[name] = (arr.reshape(list(reversed(dims))), start)

    def read(self, fmt):
        v = struct.unpack_from(fmt, self.raw, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def u32(self):
        return self.read("<I")

    def u64(self):
        return self.read("<Q")

    def string(self):
        n = self.u64()
        s = self.raw[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, t):
        if t in SCALAR:
            return self.read(SCALAR[t])
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.u32(), self.u64()
            return [self.value(et) for _ in range(n)]
        raise SystemExit(f"{self.path}: unknown metadata type {t}")


# ---- number formats ---------------------------------------------------------------------

def to_bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even (finite inputs)."""
    u = np.ascontiguousarray(x, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return rounded.astype("<u2")


def bf16_bits_to_f32(b):
    return (b.astype("<u4") << 16).view("<f4")


def e4m3_table():
    """Value of each of the 256 float8 e4m3fn codes (0x7F / 0xFF are NaN)."""
    vals = np.zeros(256, dtype=np.float64)
    for code in range(256):
        s, e, m = code >> 7, (code >> 3) & 0xF, code & 7
        if e == 0xF and m == 7:
            vals[code] = np.nan
            continue
        v = (m / 8.0) * 2.0 ** -6 if e == 0 else (1 + m / 8.0) * 2.0 ** (e - 7)
        vals[code] = -v if s else v
    return vals


E4M3 = e4m3_table()
POS_CODES = np.arange(0, 0x7F)  # 0 .. 448, increasing values
POS_VALS = E4M3[POS_CODES]


def to_e4m3(x):
    """float -> nearest e4m3fn code (ties: the even code), |x| <= 448."""
    a = np.abs(x.astype(np.float64))
    hi = np.clip(np.searchsorted(POS_VALS, a), 1, len(POS_VALS) - 1)
    lo = hi - 1
    dlo, dhi = a - POS_VALS[lo], POS_VALS[hi] - a
    pick = np.where((dhi < dlo) | ((dhi == dlo) & (hi % 2 == 0)), hi, lo)
    return (pick | np.where(x < 0, 0x80, 0)).astype(np.uint8)


def fp8_blocks(w):
    """DeepSeek-V3 block scaling of a 2-D float32 matrix: (codes, scale_inv, dequantized)."""
    rows, cols = w.shape
    nb_r, nb_c = (rows + 127) // 128, (cols + 127) // 128
    scale = np.zeros((nb_r, nb_c), dtype=np.float32)
    codes = np.zeros(w.shape, dtype=np.uint8)
    deq = np.zeros(w.shape, dtype=np.float32)
    for br in range(nb_r):
        for bc in range(nb_c):
            blk = w[br * 128:(br + 1) * 128, bc * 128:(bc + 1) * 128]
            s = np.float32(np.max(np.abs(blk)) / np.float32(448.0))
            if s == 0:
                s = np.float32(1.0)
            q = to_e4m3(blk / s)
            scale[br, bc] = s
            codes[br * 128:(br + 1) * 128, bc * 128:(bc + 1) * 128] = q
            deq[br * 128:(br + 1) * 128, bc * 128:(bc + 1) * 128] = E4M3[q].astype(np.float32) * s
    return codes, scale, deq


# ---- GGUF twin -> HF tensors --------------------------------------------------------------

def unpermute_rope(w, heads):
    """GGUF (interleaved pairs) -> HF rotate-half row order, per head."""
    rows = w.shape[0]
    d = rows // heads
    out = np.empty_like(w)
    for h in range(heads):
        for i in range(d // 2):
            for j in range(2):
                out[h * d + j * (d // 2) + i] = w[h * d + 2 * i + j]
    return out


def permute_rope(w, heads):
    rows = w.shape[0]
    d = rows // heads
    out = np.empty_like(w)
    for h in range(heads):
        for i in range(d // 2):
            for j in range(2):
                out[h * d + 2 * i + j] = w[h * d + j * (d // 2) + i]
    return out


DENSE = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.bias": "self_attn.v_proj.bias",
    "attn_q_norm.weight": "self_attn.q_norm.weight",
    "attn_k_norm.weight": "self_attn.k_norm.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
    # deepseek2
    "attn_q_a.weight": "self_attn.q_a_proj.weight",
    "attn_q_a_norm.weight": "self_attn.q_a_layernorm.weight",
    "attn_q_b.weight": "self_attn.q_b_proj.weight",
    "attn_kv_a_mqa.weight": "self_attn.kv_a_proj_with_mqa.weight",
    "attn_kv_a_norm.weight": "self_attn.kv_a_layernorm.weight",
    "ffn_gate_inp.weight": "mlp.gate.weight",
    "exp_probs_b.bias": "mlp.gate.e_score_correction_bias",
    "ffn_gate_shexp.weight": "mlp.shared_experts.gate_proj.weight",
    "ffn_up_shexp.weight": "mlp.shared_experts.up_proj.weight",
    "ffn_down_shexp.weight": "mlp.shared_experts.down_proj.weight",
}
EXPERTS = {"ffn_gate_exps.weight": "gate_proj", "ffn_up_exps.weight": "up_proj", "ffn_down_exps.weight": "down_proj"}
GLOBAL = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
          "output.weight": "lm_head.weight"}


def hf_tensors(g, arch):
    """{hf name: float32 array} and the inverse description to map back."""
    md = g.meta
    p = arch + "."
    out = {}
    n_head = md[p + "attention.head_count"]
    n_head_kv = md.get(p + "attention.head_count_kv", n_head)
    kb = {}
    for name, (arr, _) in g.tensors.items():
        if name in GLOBAL:
            out[GLOBAL[name]] = arr.copy()
            continue
        if name == "rope_freqs.weight":
            continue
        parts = name.split(".", 2)
        assert parts[0] == "blk", name
        layer, rest = int(parts[1]), parts[2]
        pre = f"model.layers.{layer}."
        if rest in ("attn_k_b.weight", "attn_v_b.weight"):
            kb.setdefault(layer, {})[rest] = arr
            continue
        if rest in EXPERTS:
            for e in range(arr.shape[0]):
                out[f"{pre}mlp.experts.{e}.{EXPERTS[rest]}.weight"] = arr[e].copy()
            continue
        w = arr.copy()
        if arch == "llama" and rest in ("attn_q.weight", "attn_k.weight"):
            w = unpermute_rope(w, n_head if rest == "attn_q.weight" else n_head_kv)
        out[pre + DENSE[rest]] = w
    for layer, d in kb.items():
        k_b, v_b = d["attn_k_b.weight"], d["attn_v_b.weight"]  # [H, R, nope], [H, v, R]
        rows = []
        for h in range(k_b.shape[0]):
            rows.append(k_b[h].T)
            rows.append(v_b[h])
        out[f"model.layers.{layer}.self_attn.kv_b_proj.weight"] = np.ascontiguousarray(np.concatenate(rows, axis=0))
    return out


def gguf_layout(hf, g, arch):
    """The GGUF tensors (name -> float32 array in the twin's shape) of the HF tensors `hf`."""
    md = g.meta
    p = arch + "."
    n_head = md[p + "attention.head_count"]
    n_head_kv = md.get(p + "attention.head_count_kv", n_head)
    inv_global = {v: k for k, v in GLOBAL.items()}
    out = {}
    for name, (arr, _) in g.tensors.items():
        if name in GLOBAL:
            out[name] = hf[GLOBAL[name]]
            continue
        if name == "rope_freqs.weight":
            out[name] = arr
            continue
        _, layer, rest = name.split(".", 2)
        pre = f"model.layers.{layer}."
        if rest in EXPERTS:
            out[name] = np.stack([hf[f"{pre}mlp.experts.{e}.{EXPERTS[rest]}.weight"] for e in range(arr.shape[0])])
        elif rest in ("attn_k_b.weight", "attn_v_b.weight"):
            kv = hf[pre + "self_attn.kv_b_proj.weight"]
            H = arr.shape[0]
            per = kv.shape[0] // H
            nope = arr.shape[2] if rest == "attn_k_b.weight" else per - arr.shape[1]
            heads = [kv[h * per:(h + 1) * per] for h in range(H)]
            if rest == "attn_k_b.weight":
                out[name] = np.stack([hd[:nope].T for hd in heads])
            else:
                out[name] = np.stack([hd[nope:] for hd in heads])
        else:
            w = hf[pre + DENSE[rest]]
            if arch == "llama" and rest in ("attn_q.weight", "attn_k.weight"):
                w = permute_rope(w, n_head if rest == "attn_q.weight" else n_head_kv)
            out[name] = w
        assert out[name].shape == arr.shape, (name, out[name].shape, arr.shape)
    del inv_global
    return out


# ---- config.json / tokenizer ------------------------------------------------------------

QWEN2_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
               "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def config_json(g, arch, dtype):
    md = g.meta
    p = arch + "."
    embd = g.tensors["token_embd.weight"][0]
    c = {
        "hidden_size": md[p + "embedding_length"],
        "num_attention_heads": md[p + "attention.head_count"],
        "max_position_embeddings": md[p + "context_length"],
        "rms_norm_eps": md[p + "attention.layer_norm_rms_epsilon"],
        "rope_theta": md.get(p + "rope.freq_base", 10000.0),
        "vocab_size": embd.shape[0],
        "tie_word_embeddings": "output.weight" not in g.tensors,
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16", "fp8": "bfloat16"}[dtype],
    }
    if arch in ("qwen2", "llama", "qwen3"):
        c["model_type"] = arch
        c["architectures"] = [{"qwen2": "Qwen2ForCausalLM", "llama": "LlamaForCausalLM",
                               "qwen3": "Qwen3ForCausalLM"}[arch]]
        c["num_hidden_layers"] = md[p + "block_count"]
        c["num_key_value_heads"] = md.get(p + "attention.head_count_kv", c["num_attention_heads"])
        c["intermediate_size"] = md[p + "feed_forward_length"]
        head_dim = md.get(p + "attention.key_length", c["hidden_size"] // c["num_attention_heads"])
        c["head_dim"] = head_dim
        if arch == "llama" and "rope_freqs.weight" in g.tensors:
            c["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
        else:
            c["rope_scaling"] = None
        return c
    # deepseek2 (split MLA layout)
    n_nextn = md.get(p + "nextn_predict_layers", 0)
    assert n_nextn == 0, "the writer does not write multi-token-prediction layers"
    c["model_type"] = "deepseek_v3"
    c["architectures"] = ["DeepseekV3ForCausalLM"]
    c["num_hidden_layers"] = md[p + "block_count"]
    c["num_key_value_heads"] = c["num_attention_heads"]
    c["q_lora_rank"] = md.get(p + "attention.q_lora_rank", 0) or None
    c["kv_lora_rank"] = md[p + "attention.kv_lora_rank"]
    c["qk_rope_head_dim"] = md[p + "rope.dimension_count"]
    c["qk_nope_head_dim"] = md[p + "attention.key_length_mla"] - c["qk_rope_head_dim"]
    c["v_head_dim"] = md[p + "attention.value_length_mla"]
    c["first_k_dense_replace"] = md.get(p + "leading_dense_block_count", 0)
    c["intermediate_size"] = md.get(p + "feed_forward_length", 1)
    if p + "expert_count" in md:
        c["n_routed_experts"] = md[p + "expert_count"]
        c["num_experts_per_tok"] = md[p + "expert_used_count"]
        c["n_shared_experts"] = md[p + "expert_shared_count"]
        c["moe_intermediate_size"] = md[p + "expert_feed_forward_length"]
        c["routed_scaling_factor"] = md.get(p + "expert_weights_scale", 1.0)
        c["norm_topk_prob"] = bool(md.get(p + "expert_weights_norm", False))
        c["scoring_func"] = "sigmoid" if md.get(p + "expert_gating_func", 1) == 2 else "softmax"
        c["topk_method"] = "noaux_tc" if any(k.endswith("exp_probs_b.bias") for k in g.tensors) else "greedy"
        c["n_group"] = md.get(p + "expert_group_count", 1)
        c["topk_group"] = md.get(p + "expert_group_used_count", 1)
        c["moe_layer_freq"] = 1
    if md.get(p + "rope.scaling.type", "none") == "yarn":
        c["rope_scaling"] = {
            "type": "yarn", "factor": md[p + "rope.scaling.factor"],
            "original_max_position_embeddings": md[p + "rope.scaling.original_context_length"],
            "mscale": 1.0, "mscale_all_dim": round(md.get(p + "rope.scaling.yarn_log_multiplier", 0.0) / 0.1, 6),
            "beta_fast": 32, "beta_slow": 1}
    else:
        c["rope_scaling"] = None
    if dtype == "fp8":
        c["quantization_config"] = {"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                                    "weight_block_size": [128, 128]}
    return c


def tokenizer_files(g):
    md = g.meta
    tokens = md["tokenizer.ggml.tokens"]
    types = md.get("tokenizer.ggml.token_type", [1] * len(tokens))
    vocab, added = {}, []
    for i, (t, ty) in enumerate(zip(tokens, types)):
        if ty in (3, 4):
            added.append({"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": ty == 3})
        elif ty != 5:
            vocab[t] = i
    tok = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": None, "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                            "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": md.get("tokenizer.ggml.merges", [])},
    }
    cfg = {"add_bos_token": bool(md.get("tokenizer.ggml.add_bos_token", False)),
           "add_eos_token": bool(md.get("tokenizer.ggml.add_eos_token", False))}
    for key, gkey in (("bos_token", "tokenizer.ggml.bos_token_id"), ("eos_token", "tokenizer.ggml.eos_token_id"),
                      ("pad_token", "tokenizer.ggml.padding_token_id")):
        if gkey in md:
            cfg[key] = tokens[md[gkey]]
    if "tokenizer.chat_template" in md:
        cfg["chat_template"] = md["tokenizer.chat_template"]
    return tok, cfg


# ---- safetensors writer (https://github.com/huggingface/safetensors, "Format") -----------

def write_safetensors(path, tensors):
    """tensors: list of (name, st dtype, shape, bytes)."""
    header, offset = {}, 0
    for name, dt, shape, data in tensors:
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, data in tensors:
            f.write(data)
    os.replace(tmp, path)


def encode(name, w, dtype):
    """[(name, dtype, shape, bytes)] of one HF tensor, and the value the checkpoint stores."""
    if dtype == "f32":
        return [(name, "F32", w.shape, w.astype("<f4").tobytes())], w
    if dtype == "f16":
        h = w.astype("<f2")
        return [(name, "F16", w.shape, h.tobytes())], h.astype(np.float32)
    bits = to_bf16_bits(w)
    keep_bf16 = (w.ndim != 2 or name.endswith(("embed_tokens.weight", "lm_head.weight", "mlp.gate.weight")))
    if dtype == "bf16" or keep_bf16:
        return [(name, "BF16", w.shape, bits.tobytes())], bf16_bits_to_f32(bits).reshape(w.shape)
    codes, scale, deq = fp8_blocks(w)
    return [(name, "F8_E4M3", w.shape, codes.tobytes()),
            (name + "_scale_inv", "F32", scale.shape, scale.astype("<f4").tobytes())], deq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("twin")
    ap.add_argument("out")
    ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16", "fp8"])
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--expected")
    a = ap.parse_args()
    g = Gguf(a.twin)
    if any(t != 0 for t in g.types.values()):
        raise SystemExit(f"{a.twin}: the twin must be an F32 file")
    arch = g.meta["general.architecture"]
    hf = hf_tensors(g, arch)
    os.makedirs(a.out, exist_ok=True)
    stored, entries = {}, []
    for name in sorted(hf):
        parts, value = encode(name, np.ascontiguousarray(hf[name], dtype=np.float32), a.dtype)
        stored[name] = value
        entries.extend(parts)
    if a.shards <= 1:
        write_safetensors(os.path.join(a.out, "model.safetensors"), entries)
    else:
        weight_map, total = {}, 0
        per = (len(entries) + a.shards - 1) // a.shards
        for s in range(a.shards):
            chunk = entries[s * per:(s + 1) * per]
            fname = f"model-{s + 1:05d}-of-{a.shards:05d}.safetensors"
            write_safetensors(os.path.join(a.out, fname), chunk)
            for name, _, _, data in chunk:
                weight_map[name] = fname
                total += len(data)
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config_json(g, arch, a.dtype), f, indent=2)
    tok, tcfg = tokenizer_files(g)
    with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(a.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tcfg, f, ensure_ascii=False, indent=2)
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump({"do_sample": True, "temperature": 0.6, "top_p": 0.95}, f)
    if a.expected:
        raw = bytearray(g.raw)
        for name, arr in gguf_layout(stored, g, arch).items():
            start = g.tensors[name][1]
            b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
            raw[start:start + len(b)] = b
        with open(a.expected + ".tmp", "wb") as f:
            f.write(raw)
        os.replace(a.expected + ".tmp", a.expected)


if __name__ == "__main__":
    sys.exit(main())
