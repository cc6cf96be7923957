// The ABI our struct layouts are valid for, checked when the library loads.
//
// The koffi structs in ffi.ts mirror llama.h field for field, and ffi-layout.test.ts proves them equal to what
// `cc` computes on linux-x64 (x86-64 System V). The structs use only fixed-width integers, size_t, float, bool,
// int-sized enums and pointers (no `long`, no long double, no bit-fields), so the same layout holds on every
// LP64 / LLP64 ABI with 8-byte pointers and natural alignment: x86-64 System V (Linux, macOS), AAPCS64 (Linux
// arm64, and Apple's arm64 variant) and Win64. That is an argument, not a measurement, for the ABIs other than
// x86-64 System V, so the loader re-checks it: koffi computes each struct with the running platform's C rules,
// and any size, alignment or offset that differs from the table below (the layout verified here) refuses to
// load instead of corrupting memory. 32-bit targets fail the pointer-size check.
import koffi from "koffi";

type KoffiType = ReturnType<typeof koffi.struct>;

export const VERIFIED_ABIS = ["x86-64 System V", "AAPCS64", "Win64"] as const;

/** The layouts verified against C (x86-64 System V); the abi test keeps this equal to koffi's here. */
export const EXPECTED_LAYOUTS: Readonly<
  Record<string, { size: number; align: number; offsets: Readonly<Record<string, number>> }>
> = {
  ggml_tensor: {
    size: 336,
    align: 8,
    offsets: {
      type: 0,
      buffer: 8,
      ne: 16,
      nb: 48,
      op: 80,
      op_params: 84,
      flags: 148,
      src: 152,
      view_src: 232,
      view_offs: 240,
      data: 248,
      name: 256,
      extra: 320,
      padding: 328,
    },
  },
  llama_model_params: {
    size: 80,
    align: 8,
    offsets: {
      devices: 0,
      tensor_buft_overrides: 8,
      n_gpu_layers: 16,
      split_mode: 20,
      load_mode: 24,
      lazy_mode: 28,
      main_gpu: 32,
      tensor_split: 40,
      progress_callback: 48,
      progress_callback_user_data: 56,
      kv_overrides: 64,
      vocab_only: 72,
      check_tensors: 73,
      use_extra_bufts: 74,
      no_host: 75,
      no_alloc: 76,
      load_mtp: 77,
    },
  },
  llama_context_params: {
    size: 160,
    align: 8,
    offsets: {
      n_ctx: 0,
      n_batch: 4,
      n_ubatch: 8,
      n_seq_max: 12,
      n_rs_seq: 16,
      n_outputs_max: 20,
      n_outputs_max_per_seq: 24,
      n_threads: 28,
      n_threads_batch: 32,
      ctx_type: 36,
      rope_scaling_type: 40,
      pooling_type: 44,
      attention_type: 48,
      flash_attn_type: 52,
      rope_freq_base: 56,
      rope_freq_scale: 60,
      yarn_ext_factor: 64,
      yarn_attn_factor: 68,
      yarn_beta_fast: 72,
      yarn_beta_slow: 76,
      yarn_orig_ctx: 80,
      defrag_thold: 84,
      cb_eval: 88,
      cb_eval_user_data: 96,
      type_k: 104,
      type_v: 108,
      abort_callback: 112,
      abort_callback_data: 120,
      embeddings: 128,
      offload_kqv: 129,
      no_perf: 130,
      op_offload: 131,
      swa_full: 132,
      kv_unified: 133,
      samplers: 136,
      n_samplers: 144,
      ctx_other: 152,
    },
  },
  llama_batch: {
    size: 56,
    align: 8,
    offsets: { n_tokens: 0, token: 8, embd: 16, pos: 24, n_seq_id: 32, seq_id: 40, logits: 48 },
  },
  llama_sampler_chain_params: {
    size: 1,
    align: 1,
    offsets: { no_perf: 0 },
  },
  llama_chat_message: {
    size: 16,
    align: 8,
    offsets: { role: 0, content: 8 },
  },
};

const SCALARS: Readonly<Record<string, number>> = {
  "void *": 8,
  size_t: 8,
  int: 4,
  int32_t: 4,
  int64_t: 8,
  float: 4,
  bool: 1,
};

/** Every difference between the running platform's layouts and the verified ones (empty = safe to load). */
export function layoutMismatches(structs: Readonly<Record<string, KoffiType>>): string[] {
  const out: string[] = [];
  for (const [t, size] of Object.entries(SCALARS)) {
    if (koffi.sizeof(t) !== size) out.push(`sizeof(${t}) is ${koffi.sizeof(t)}, expected ${size}`);
  }
  for (const [name, type] of Object.entries(structs)) {
    const want = EXPECTED_LAYOUTS[name];
    if (want === undefined) {
      out.push(`${name}: no verified layout`);
      continue;
    }
    if (koffi.sizeof(type) !== want.size)
      out.push(`sizeof(${name}) is ${koffi.sizeof(type)}, expected ${want.size}`);
    if (koffi.alignof(type) !== want.align) {
      out.push(`alignof(${name}) is ${koffi.alignof(type)}, expected ${want.align}`);
    }
    const members = Object.values(koffi.introspect(type).members ?? {}).map((m) => m.name);
    for (const field of new Set([...members, ...Object.keys(want.offsets)])) {
      const expected = want.offsets[field];
      const actual = members.includes(field) ? koffi.offsetof(type, field) : undefined;
      if (actual !== expected) out.push(`offsetof(${name}, ${field}) is ${actual}, expected ${expected}`);
    }
  }
  return out;
}

/** Throws when this platform lays the bound structs out differently from the verified layout. */
export function assertVerifiedLayouts(structs: Readonly<Record<string, KoffiType>>): void {
  const bad = layoutMismatches(structs);
  if (bad.length > 0) {
    throw new Error(
      `refusing to load llama.cpp on ${process.platform}-${process.arch}: its struct layouts differ from the verified ones (${VERIFIED_ABIS.join(", ")}): ${bad.slice(0, 5).join("; ")}`,
    );
  }
}
