// koffi bindings to the prebuilt libllama that ships with node-llama-cpp. We bind the C API ourselves because
// node-llama-cpp's JS API exposes neither control vectors nor hidden states.
//
// Every struct here mirrors include/llama.h / ggml/include/ggml.h of llama.cpp release LLAMA_CPP_RELEASE,
// field for field: `ffi-layout.test.ts` compiles the real headers and fails when any size or offset drifts.
//
// Valid ABIs: x86-64 System V (verified by that test), AAPCS64 and Win64 (same layout by construction, re-checked
// against the verified table at load time by abi.ts). Which prebuilt package is loaded is backend.ts's choice.
import koffi, { type IKoffiLib } from "koffi";
import { assertVerifiedLayouts } from "./abi.js";
import { type BackendLibraries, chooseBackend, discoverPackages, type GpuRequest } from "./backend.js";
import { probeDevices, registerBackends } from "./devices.js";
import { onLlamaLog } from "./log.js";

export { LLAMA_CPP_RELEASE, NODE_LLAMA_CPP_VERSION } from "./backend.js";

// ---------------------------------------------------------------------------------------------------------
// Opaque handles. koffi hands native pointers to JS as opaque External objects (null for NULL); the brands
// keep a context from being passed where a model is expected.

declare const nativeBrand: unique symbol;
export type NativePointer<B extends string> = { readonly [nativeBrand]: B };
export type ModelPtr = NativePointer<"llama_model">;
export type ContextPtr = NativePointer<"llama_context">;
export type VocabPtr = NativePointer<"llama_vocab">;
export type MemoryPtr = NativePointer<"llama_memory">;
export type SamplerPtr = NativePointer<"llama_sampler">;
export type TensorPtr = NativePointer<"ggml_tensor">;
/** A raw `void *` / `T *` we only pass back to C or view through koffi.view. */
export type RawPtr = NativePointer<"raw">;

/** A koffi-registered callback (a native function pointer that calls into JS). */
export type RegisteredCallback = ReturnType<typeof koffi.register>;

// ---------------------------------------------------------------------------------------------------------
// Types and structs.

koffi.opaque("llama_model");
koffi.opaque("llama_context");
koffi.opaque("llama_vocab");
koffi.opaque("llama_memory_i");
koffi.opaque("llama_sampler");
koffi.opaque("ggml_backend_buffer");
// C enums are int-sized on every ABI llama.cpp supports.
for (const e of [
  "llama_split_mode",
  "llama_load_mode",
  "llama_lazy_mode",
  "llama_context_type",
  "llama_rope_scaling_type",
  "llama_pooling_type",
  "llama_attention_type",
  "llama_flash_attn_type",
  "ggml_type",
  "ggml_op",
  "ggml_log_level",
]) {
  koffi.alias(e, "int");
}

export const GGML_MAX_DIMS = 4;
export const GGML_MAX_SRC = 10;
export const GGML_MAX_OP_PARAMS = 64;
export const GGML_MAX_NAME = 64;
export const GGML_TYPE_F32 = 0;
export const LLAMA_DEFAULT_SEED = 0xffffffff;

export const GgmlTensor = koffi.struct("ggml_tensor", {
  type: "ggml_type",
  buffer: "ggml_backend_buffer *",
  ne: koffi.array("int64_t", GGML_MAX_DIMS),
  nb: koffi.array("size_t", GGML_MAX_DIMS),
  op: "ggml_op",
  op_params: koffi.array("int32_t", GGML_MAX_OP_PARAMS / 4),
  flags: "int32_t",
  // Self-references are declared as void *: we never follow them.
  src: koffi.array("void *", GGML_MAX_SRC),
  view_src: "void *",
  view_offs: "size_t",
  data: "void *",
  name: koffi.array("char", GGML_MAX_NAME),
  extra: "void *",
  padding: koffi.array("char", 8),
});

/** `ggml_backend_sched_eval_callback`: ask = true asks "do you want this node?", ask = false hands its data over. */
export const EvalCallbackProto = koffi.proto(
  "bool ggml_backend_sched_eval_callback(ggml_tensor *t, bool ask, void *user_data)",
);
/** `ggml_log_callback`. */
export const LogCallbackProto = koffi.proto(
  "void ggml_log_callback(ggml_log_level level, const char *text, void *user_data)",
);

export const LlamaModelParams = koffi.struct("llama_model_params", {
  devices: "void *",
  tensor_buft_overrides: "void *",
  n_gpu_layers: "int32_t",
  split_mode: "llama_split_mode",
  load_mode: "llama_load_mode",
  lazy_mode: "llama_lazy_mode",
  main_gpu: "int32_t",
  tensor_split: "const float *",
  progress_callback: "void *",
  progress_callback_user_data: "void *",
  kv_overrides: "void *",
  vocab_only: "bool",
  check_tensors: "bool",
  use_extra_bufts: "bool",
  no_host: "bool",
  no_alloc: "bool",
  load_mtp: "bool",
});

export const LlamaContextParams = koffi.struct("llama_context_params", {
  n_ctx: "uint32_t",
  n_batch: "uint32_t",
  n_ubatch: "uint32_t",
  n_seq_max: "uint32_t",
  n_rs_seq: "uint32_t",
  n_outputs_max: "uint32_t",
  n_outputs_max_per_seq: "uint32_t",
  n_threads: "int32_t",
  n_threads_batch: "int32_t",
  ctx_type: "llama_context_type",
  rope_scaling_type: "llama_rope_scaling_type",
  pooling_type: "llama_pooling_type",
  attention_type: "llama_attention_type",
  flash_attn_type: "llama_flash_attn_type",
  rope_freq_base: "float",
  rope_freq_scale: "float",
  yarn_ext_factor: "float",
  yarn_attn_factor: "float",
  yarn_beta_fast: "float",
  yarn_beta_slow: "float",
  yarn_orig_ctx: "uint32_t",
  defrag_thold: "float",
  cb_eval: koffi.pointer(EvalCallbackProto),
  cb_eval_user_data: "void *",
  type_k: "ggml_type",
  type_v: "ggml_type",
  abort_callback: "void *",
  abort_callback_data: "void *",
  embeddings: "bool",
  offload_kqv: "bool",
  no_perf: "bool",
  op_offload: "bool",
  swa_full: "bool",
  kv_unified: "bool",
  samplers: "void *",
  n_samplers: "size_t",
  ctx_other: "llama_context *",
});

export const LlamaBatch = koffi.struct("llama_batch", {
  n_tokens: "int32_t",
  token: "int32_t *",
  embd: "float *",
  pos: "int32_t *",
  n_seq_id: "int32_t *",
  seq_id: "int32_t **",
  logits: "int8_t *",
});

export const LlamaSamplerChainParams = koffi.struct("llama_sampler_chain_params", {
  no_perf: "bool",
});

export const LlamaChatMessage = koffi.struct("llama_chat_message", {
  role: "const char *",
  content: "const char *",
});

/** The bound structs, by C name (the layout test walks this). */
export const BOUND_STRUCTS = {
  ggml_tensor: GgmlTensor,
  llama_model_params: LlamaModelParams,
  llama_context_params: LlamaContextParams,
  llama_batch: LlamaBatch,
  llama_sampler_chain_params: LlamaSamplerChainParams,
  llama_chat_message: LlamaChatMessage,
} as const;

// JS shapes of the structs we pass by value (field names = C names).
export interface LlamaModelParamsValue {
  devices: RawPtr | null;
  tensor_buft_overrides: RawPtr | null;
  n_gpu_layers: number;
  split_mode: number;
  load_mode: number;
  lazy_mode: number;
  main_gpu: number;
  tensor_split: RawPtr | null;
  progress_callback: RawPtr | null;
  progress_callback_user_data: RawPtr | null;
  kv_overrides: RawPtr | null;
  vocab_only: boolean;
  check_tensors: boolean;
  use_extra_bufts: boolean;
  no_host: boolean;
  no_alloc: boolean;
  load_mtp: boolean;
}

export interface LlamaContextParamsValue {
  n_ctx: number;
  n_batch: number;
  n_ubatch: number;
  n_seq_max: number;
  n_rs_seq: number;
  n_outputs_max: number;
  n_outputs_max_per_seq: number;
  n_threads: number;
  n_threads_batch: number;
  ctx_type: number;
  rope_scaling_type: number;
  pooling_type: number;
  attention_type: number;
  flash_attn_type: number;
  rope_freq_base: number;
  rope_freq_scale: number;
  yarn_ext_factor: number;
  yarn_attn_factor: number;
  yarn_beta_fast: number;
  yarn_beta_slow: number;
  yarn_orig_ctx: number;
  defrag_thold: number;
  cb_eval: RegisteredCallback | RawPtr | null;
  cb_eval_user_data: RawPtr | null;
  type_k: number;
  type_v: number;
  abort_callback: RawPtr | null;
  abort_callback_data: RawPtr | null;
  embeddings: boolean;
  offload_kqv: boolean;
  no_perf: boolean;
  op_offload: boolean;
  swa_full: boolean;
  kv_unified: boolean;
  samplers: RawPtr | null;
  n_samplers: number;
  ctx_other: ContextPtr | null;
}

export interface LlamaBatchValue {
  n_tokens: number;
  token: RawPtr | null;
  embd: RawPtr | null;
  pos: RawPtr | null;
  n_seq_id: RawPtr | null;
  seq_id: RawPtr | null;
  logits: RawPtr | null;
}

export interface LlamaSamplerChainParamsValue {
  no_perf: boolean;
}

export interface LlamaChatMessageValue {
  role: string;
  content: string;
}

// ---------------------------------------------------------------------------------------------------------
// Functions, as C prototypes (koffi parses them; the layout test checks each symbol is exported).

const LLAMA_FUNCTIONS = {
  llama_backend_init: "void llama_backend_init(void)",
  llama_log_set: "void llama_log_set(ggml_log_callback *log_callback, void *user_data)",
  llama_print_system_info: "const char *llama_print_system_info(void)",
  llama_model_default_params: "llama_model_params llama_model_default_params(void)",
  llama_context_default_params: "llama_context_params llama_context_default_params(void)",
  llama_sampler_chain_default_params: "llama_sampler_chain_params llama_sampler_chain_default_params(void)",
  llama_model_load_from_file:
    "llama_model *llama_model_load_from_file(const char *path_model, llama_model_params params)",
  llama_model_free: "void llama_model_free(llama_model *model)",
  llama_init_from_model:
    "llama_context *llama_init_from_model(llama_model *model, llama_context_params params)",
  llama_free: "void llama_free(llama_context *ctx)",
  llama_n_ctx: "uint32_t llama_n_ctx(const llama_context *ctx)",
  llama_n_batch: "uint32_t llama_n_batch(const llama_context *ctx)",
  llama_n_ubatch: "uint32_t llama_n_ubatch(const llama_context *ctx)",
  llama_get_memory: "llama_memory_i *llama_get_memory(const llama_context *ctx)",
  llama_model_get_vocab: "const llama_vocab *llama_model_get_vocab(const llama_model *model)",
  llama_model_n_ctx_train: "int32_t llama_model_n_ctx_train(const llama_model *model)",
  llama_model_n_embd: "int32_t llama_model_n_embd(const llama_model *model)",
  llama_model_n_layer: "int32_t llama_model_n_layer(const llama_model *model)",
  llama_model_n_params: "uint64_t llama_model_n_params(const llama_model *model)",
  llama_model_desc: "int32_t llama_model_desc(const llama_model *model, uint8_t *buf, size_t buf_size)",
  llama_model_chat_template:
    "const char *llama_model_chat_template(const llama_model *model, const char *name)",
  llama_model_has_encoder: "bool llama_model_has_encoder(const llama_model *model)",
  llama_model_has_decoder: "bool llama_model_has_decoder(const llama_model *model)",
  llama_vocab_n_tokens: "int32_t llama_vocab_n_tokens(const llama_vocab *vocab)",
  llama_vocab_is_eog: "bool llama_vocab_is_eog(const llama_vocab *vocab, int32_t token)",
  llama_vocab_bos: "int32_t llama_vocab_bos(const llama_vocab *vocab)",
  llama_vocab_get_add_bos: "bool llama_vocab_get_add_bos(const llama_vocab *vocab)",
  llama_tokenize:
    "int32_t llama_tokenize(const llama_vocab *vocab, const uint8_t *text, int32_t text_len, int32_t *tokens, int32_t n_tokens_max, bool add_special, bool parse_special)",
  llama_token_to_piece:
    "int32_t llama_token_to_piece(const llama_vocab *vocab, int32_t token, uint8_t *buf, int32_t length, int32_t lstrip, bool special)",
  llama_detokenize:
    "int32_t llama_detokenize(const llama_vocab *vocab, const int32_t *tokens, int32_t n_tokens, uint8_t *text, int32_t text_len_max, bool remove_special, bool unparse_special)",
  llama_chat_apply_template:
    "int32_t llama_chat_apply_template(const char *tmpl, const llama_chat_message *chat, size_t n_msg, bool add_ass, uint8_t *buf, int32_t length)",
  llama_chat_builtin_templates: "int32_t llama_chat_builtin_templates(_Out_ const char **output, size_t len)",
  llama_batch_init: "llama_batch llama_batch_init(int32_t n_tokens, int32_t embd, int32_t n_seq_max)",
  llama_batch_free: "void llama_batch_free(llama_batch batch)",
  llama_decode: "int32_t llama_decode(llama_context *ctx, llama_batch batch)",
  llama_get_logits: "float *llama_get_logits(llama_context *ctx)",
  llama_memory_clear: "void llama_memory_clear(llama_memory_i *mem, bool data)",
  llama_memory_seq_rm:
    "bool llama_memory_seq_rm(llama_memory_i *mem, int32_t seq_id, int32_t p0, int32_t p1)",
  llama_memory_seq_pos_max: "int32_t llama_memory_seq_pos_max(llama_memory_i *mem, int32_t seq_id)",
  llama_set_adapter_cvec:
    "int32_t llama_set_adapter_cvec(llama_context *ctx, const float *data, size_t len, int32_t n_embd, int32_t il_start, int32_t il_end)",
  llama_sampler_chain_init: "llama_sampler *llama_sampler_chain_init(llama_sampler_chain_params params)",
  llama_sampler_chain_add: "void llama_sampler_chain_add(llama_sampler *chain, llama_sampler *smpl)",
  llama_sampler_init_greedy: "llama_sampler *llama_sampler_init_greedy(void)",
  llama_sampler_init_dist: "llama_sampler *llama_sampler_init_dist(uint32_t seed)",
  llama_sampler_init_top_p: "llama_sampler *llama_sampler_init_top_p(float p, size_t min_keep)",
  llama_sampler_init_temp: "llama_sampler *llama_sampler_init_temp(float t)",
  llama_sampler_sample: "int32_t llama_sampler_sample(llama_sampler *smpl, llama_context *ctx, int32_t idx)",
  llama_sampler_free: "void llama_sampler_free(llama_sampler *smpl)",
} as const;

const GGML_FUNCTIONS = {
  ggml_backend_load_all_from_path: "void ggml_backend_load_all_from_path(const char *dir_path)",
  ggml_backend_reg_count: "size_t ggml_backend_reg_count(void)",
  ggml_backend_dev_count: "size_t ggml_backend_dev_count(void)",
} as const;

const GGML_BASE_FUNCTIONS = {
  ggml_backend_tensor_get:
    "void ggml_backend_tensor_get(const ggml_tensor *tensor, float *data, size_t offset, size_t size)",
  ggml_backend_tensor_set:
    "void ggml_backend_tensor_set(ggml_tensor *tensor, const float *data, size_t offset, size_t size)",
} as const;

/** The typed surface of the bound functions. Strings are UTF-8 C strings; buffers are written in place. */
export interface LlamaFunctions {
  llama_backend_init(): void;
  llama_log_set(cb: RegisteredCallback | null, userData: null): void;
  llama_print_system_info(): string;
  llama_model_default_params(): LlamaModelParamsValue;
  llama_context_default_params(): LlamaContextParamsValue;
  llama_sampler_chain_default_params(): LlamaSamplerChainParamsValue;
  llama_model_load_from_file(path: string, params: LlamaModelParamsValue): ModelPtr | null;
  llama_model_free(model: ModelPtr): void;
  llama_init_from_model(model: ModelPtr, params: LlamaContextParamsValue): ContextPtr | null;
  llama_free(ctx: ContextPtr): void;
  llama_n_ctx(ctx: ContextPtr): number;
  llama_n_batch(ctx: ContextPtr): number;
  llama_n_ubatch(ctx: ContextPtr): number;
  llama_get_memory(ctx: ContextPtr): MemoryPtr | null;
  llama_model_get_vocab(model: ModelPtr): VocabPtr;
  llama_model_n_ctx_train(model: ModelPtr): number;
  llama_model_n_embd(model: ModelPtr): number;
  llama_model_n_layer(model: ModelPtr): number;
  llama_model_n_params(model: ModelPtr): number | bigint;
  llama_model_desc(model: ModelPtr, buf: Uint8Array, size: number): number;
  llama_model_chat_template(model: ModelPtr, name: string | null): string | null;
  llama_model_has_encoder(model: ModelPtr): boolean;
  llama_model_has_decoder(model: ModelPtr): boolean;
  llama_vocab_n_tokens(vocab: VocabPtr): number;
  llama_vocab_is_eog(vocab: VocabPtr, token: number): boolean;
  llama_vocab_bos(vocab: VocabPtr): number;
  llama_vocab_get_add_bos(vocab: VocabPtr): boolean;
  llama_tokenize(
    vocab: VocabPtr,
    text: Uint8Array,
    textLen: number,
    tokens: Int32Array,
    nTokensMax: number,
    addSpecial: boolean,
    parseSpecial: boolean,
  ): number;
  llama_token_to_piece(
    vocab: VocabPtr,
    token: number,
    buf: Uint8Array,
    length: number,
    lstrip: number,
    special: boolean,
  ): number;
  llama_detokenize(
    vocab: VocabPtr,
    tokens: Int32Array,
    nTokens: number,
    text: Uint8Array,
    textLenMax: number,
    removeSpecial: boolean,
    unparseSpecial: boolean,
  ): number;
  llama_chat_apply_template(
    tmpl: string,
    chat: LlamaChatMessageValue[],
    nMsg: number,
    addAss: boolean,
    buf: Uint8Array,
    length: number,
  ): number;
  llama_chat_builtin_templates(output: (string | null)[], len: number): number;
  llama_batch_init(nTokens: number, embd: number, nSeqMax: number): LlamaBatchValue;
  llama_batch_free(batch: LlamaBatchValue): void;
  llama_decode(ctx: ContextPtr, batch: LlamaBatchValue): number;
  llama_get_logits(ctx: ContextPtr): RawPtr | null;
  llama_memory_clear(mem: MemoryPtr, data: boolean): void;
  llama_memory_seq_rm(mem: MemoryPtr, seqId: number, p0: number, p1: number): boolean;
  llama_memory_seq_pos_max(mem: MemoryPtr, seqId: number): number;
  llama_set_adapter_cvec(
    ctx: ContextPtr,
    data: Float32Array | null,
    len: number,
    nEmbd: number,
    ilStart: number,
    ilEnd: number,
  ): number;
  llama_sampler_chain_init(params: LlamaSamplerChainParamsValue): SamplerPtr | null;
  llama_sampler_chain_add(chain: SamplerPtr, smpl: SamplerPtr): void;
  llama_sampler_init_greedy(): SamplerPtr | null;
  llama_sampler_init_dist(seed: number): SamplerPtr | null;
  llama_sampler_init_top_p(p: number, minKeep: number): SamplerPtr | null;
  llama_sampler_init_temp(t: number): SamplerPtr | null;
  llama_sampler_sample(smpl: SamplerPtr, ctx: ContextPtr, idx: number): number;
  llama_sampler_free(smpl: SamplerPtr): void;
  ggml_backend_load_all_from_path(dir: string): void;
  ggml_backend_reg_count(): number | bigint;
  ggml_backend_dev_count(): number | bigint;
  ggml_backend_tensor_get(tensor: TensorPtr, data: Float32Array, offset: number, size: number): void;
  ggml_backend_tensor_set(tensor: TensorPtr, data: Float32Array, offset: number, size: number): void;
}

type Prototypes = typeof LLAMA_FUNCTIONS & typeof GGML_FUNCTIONS & typeof GGML_BASE_FUNCTIONS;
// Compile-time check that the typed surface and the prototype tables name exactly the same functions.
type SameKeys<A, B> = [keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : never) : never;
const sameKeys: SameKeys<Prototypes, LlamaFunctions> = true;
void sameKeys;

// ---------------------------------------------------------------------------------------------------------
// Locating and loading the libraries.

/** The library files of the chosen prebuilt package (see backend.ts). */
export type LibraryFiles = BackendLibraries;

/** Each library file and the C symbols bound from it (the layout test checks they are exported). */
export function boundSymbols(files: LibraryFiles): { file: string; symbols: string[] }[] {
  return [
    { file: files.libllama, symbols: Object.keys(LLAMA_FUNCTIONS) },
    { file: files.libggml, symbols: Object.keys(GGML_FUNCTIONS) },
    { file: files.libggmlBase, symbols: Object.keys(GGML_BASE_FUNCTIONS) },
  ];
}

/**
 * Finds the prebuilt package to load for `gpu` (default "auto": the best installed backend with a device) and
 * checks it is a verified version. Throws a one-line error naming the package and its install command.
 */
export function locateLibraries(gpu: GpuRequest = "auto"): LibraryFiles {
  return chooseBackend(discoverPackages(), gpu, probeDevices).libraries;
}

export interface LlamaLibrary {
  readonly files: LibraryFiles;
  readonly fn: LlamaFunctions;
}

let loaded: LlamaLibrary | undefined;
let logCallback: RegisteredCallback | undefined;

function bindAll(lib: IKoffiLib, table: Record<string, string>, out: Record<string, unknown>, file: string) {
  for (const [name, proto] of Object.entries(table)) {
    try {
      out[name] = lib.func(proto);
    } catch (err) {
      throw new Error(`cannot bind ${name} from ${file}: ${(err as Error).message}`);
    }
  }
}

/**
 * Loads (once per process) libggml-base, libggml and libllama, binds the functions, initialises the backend
 * and loads the CPU backend variant best suited to this CPU from the package folder.
 */
export function loadLlamaLibrary(gpu: GpuRequest = "auto"): LlamaLibrary {
  if (loaded) {
    // One libllama per process: a different GPU build cannot be loaded beside it (gpu: false just offloads nothing).
    if (gpu !== "auto" && gpu !== false && gpu !== loaded.files.backend) {
      throw new Error(
        `gpu: ${gpu} was asked for, but this process already loaded the ${loaded.files.backend} build (${loaded.files.package})`,
      );
    }
    return loaded;
  }
  assertVerifiedLayouts(BOUND_STRUCTS);
  const files = locateLibraries(gpu);
  const out: Record<string, unknown> = {};
  // Load dependencies first; libllama's RUNPATH ($ORIGIN) would find them anyway, and dlopen dedupes by file.
  const base = koffi.load(files.libggmlBase);
  const ggml = koffi.load(files.libggml);
  const llama = koffi.load(files.libllama);
  bindAll(base, GGML_BASE_FUNCTIONS, out, files.libggmlBase);
  bindAll(ggml, GGML_FUNCTIONS, out, files.libggml);
  bindAll(llama, LLAMA_FUNCTIONS, out, files.libllama);
  const fn = out as unknown as LlamaFunctions;
  // Route llama.cpp's and ggml's log into log.ts before anything logs (kept referenced for the process).
  logCallback = koffi.register(onLlamaLog, koffi.pointer(LogCallbackProto));
  fn.llama_log_set(logCallback, null);
  fn.llama_backend_init();
  // The CPU backends are separate libraries (one per instruction-set level) that ggml picks at runtime. Its
  // default search looks beside the node executable, so point it at the package folder. Skip when another
  // user of the same libggml (e.g. node-llama-cpp's addon) has already registered backends.
  if (Number(fn.ggml_backend_reg_count()) === 0) registerBackends(files, fn.ggml_backend_load_all_from_path);
  if (Number(fn.ggml_backend_dev_count()) === 0) {
    throw new Error(`no ggml backend device could be loaded from ${files.binsDir}`);
  }
  loaded = { files, fn };
  return loaded;
}
