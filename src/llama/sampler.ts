// Sampler chains. Greedy when temperature is 0; otherwise temperature → top-p → a seeded draw. Temperature
// comes first, as in Hugging Face and vLLM (and so in OpenAI-compatible servers), so top-p cuts the
// *tempered* distribution. (llama.cpp's own CLI default applies top-p first.)
import type { LlamaFunctions, SamplerPtr } from "./ffi.js";

export interface SamplingParams {
  temperature: number;
  topP: number;
  /** 32-bit seed for the draw (not LLAMA_DEFAULT_SEED, which llama.cpp treats as "random"). */
  seed: number;
}

/** Builds a chain; the caller owns it and must `llama_sampler_free` it (that frees the members too). */
export function createSampler(fn: LlamaFunctions, params: SamplingParams): SamplerPtr {
  const chain = fn.llama_sampler_chain_init(fn.llama_sampler_chain_default_params());
  if (chain === null) throw new Error("llama_sampler_chain_init failed");
  const add = (s: SamplerPtr | null, what: string) => {
    if (s === null) {
      fn.llama_sampler_free(chain);
      throw new Error(`cannot create the ${what} sampler`);
    }
    fn.llama_sampler_chain_add(chain, s); // the chain owns it from here
  };
  if (params.temperature === 0) {
    add(fn.llama_sampler_init_greedy(), "greedy");
    return chain;
  }
  add(fn.llama_sampler_init_temp(params.temperature), "temperature");
  if (params.topP < 1) add(fn.llama_sampler_init_top_p(params.topP, 1), "top-p");
  add(fn.llama_sampler_init_dist(params.seed >>> 0), "dist");
  return chain;
}
