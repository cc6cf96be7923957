// The contract every model provider implements (HTTP endpoints, the embedded llama.cpp engine, and later
// pools of endpoints), plus the one error type the engine's retry logic understands.
import type { ActivationSteering, ChatMessage, Generation } from "../types.js";

export interface GenerateRequest {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
  /** Extra request-body fields for remote providers (e.g. a Condition's `requestBody`). */
  extraBody?: Record<string, unknown>;
  /**
   * Activation steering of this request, for in-process engines (the llama provider applies it to this
   * request's own sequence). HTTP providers carry steering in `extraBody` instead and refuse nothing here.
   */
  steering?: ActivationSteering;
  signal?: AbortSignal;
}

export interface ModelProvider {
  /** Stable identity of what answers (kind, model, endpoint); part of cache keys, so never a secret. */
  readonly id: string;
  /** The model name, when the provider has one (informational; `id` already includes it). */
  readonly model?: string;
  generate(req: GenerateRequest): Promise<Generation>;
  /**
   * One cheap request before a run starts (HTTP: GET /models), so an unreachable endpoint or a rejected
   * key fails the run at once instead of after every item's retries. Resolves when the endpoint may work.
   */
  preflight?(signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export type ProviderErrorKind =
  | "rate_limit"
  | "server"
  | "timeout"
  | "connection"
  | "bad_response"
  | "client"
  | "aborted";

const RETRYABLE_BY_DEFAULT: Record<ProviderErrorKind, boolean> = {
  rate_limit: true,
  server: true,
  timeout: true,
  connection: true,
  bad_response: true,
  client: false,
  aborted: false,
};

export interface ProviderErrorOptions {
  status?: number;
  retryAfterMs?: number;
  /** Overrides the kind's default (rate_limit/server/timeout/connection/bad_response retry; client/aborted don't). */
  retryable?: boolean;
}

/**
 * A failed generation. Messages must never contain credentials: providers redact before constructing it,
 * and no raw library error is attached as `cause` (it could carry request details).
 */
export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;

  constructor(kind: ProviderErrorKind, message: string, options: ProviderErrorOptions = {}) {
    super(message);
    this.name = "ProviderError";
    this.kind = kind;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT[kind];
  }
}

/** A model or judge that cannot be connected (no key, no file, a kind that cannot do what is asked). */
export class ConnectError extends Error {}

export function isProviderError(value: unknown): value is ProviderError {
  return value instanceof ProviderError;
}
