// The embedded llama.cpp engine as a provider (registered with the engine on import).
// Placeholder until the in-process engine lands.
export {};
