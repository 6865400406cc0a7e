// index.d.ts - TypeScript declarations of the libsticky package
// (lib/index.js): Router, ChannelSet, Decision, Key and the errors.

/// <reference types="node" />

/** A request body: raw JSON (Anthropic Messages, OpenAI Chat / Responses). Buffers are read in place. */
export type Body = string | Buffer | Uint8Array | ArrayBuffer;

/** Headers as Node hosts have them: res.headers, a Map / fetch Headers, [name, value] pairs or rawHeaders. */
export type HeadersLike =
  | Record<string, string | string[] | number | undefined>
  | Iterable<[string, string]>
  | ReadonlyArray<readonly [string, string]>
  | ReadonlyArray<string>;

export type ChannelState = 'active' | 'disabled' | 'draining';

/** An upstream channel (account, key, endpoint) as the host offers it. */
export interface Channel {
  /** Stable id, 1..127 bytes, unique in a list. */
  id: string;
  /** Served models: exact names or prefixes ending in '*' ("claude-*"); omitted = all. */
  models?: readonly string[] | null;
  /** Lower wins; default 0. */
  priority?: number;
  /** Rendezvous / random weight; 0 = 1. */
  weight?: number;
  /** Default 'active'. */
  state?: ChannelState;
  /** In-flight cap; 0 = unlimited. */
  maxInflight?: number;
}

/** A channel list converted once to the library's array; reuse it across requests. */
export class ChannelSet {
  constructor(channels: Iterable<string | Channel>);
  /** The channel ids, in order. */
  readonly ids: readonly string[];
  readonly length: number;
  static from(channels: ChannelSet | Iterable<string | Channel>): ChannelSet;
}

export type Reason =
  | 'none' | 'hit' | 'promoted_hit' | 'new' | 'failover' | 'spill' | 'explicit_hit'
  | 'no_channel' | 'migrated' | 'side';

/** A routing decision; report or release it exactly once. Frozen. */
export class Decision {
  private constructor();
  readonly channel: string;
  readonly channelIndex: number;
  readonly reason: Reason;
  readonly storeDegraded: boolean;
  readonly family: 'all' | 'opus' | 'sonnet' | 'haiku' | 'other';
  /** Deepest session key, 16 hex characters ("" when unkeyed). */
  readonly key: string;
  /** The request's model ("" if none). */
  readonly model: string;
  /** The channel this conversation moved from (thinking signatures), or null. */
  readonly movedFrom: string | null;
  /** Whether the attempt is still open. */
  readonly open: boolean;
  toJSON(): object;
}

/** A precomputed session key (router.key()). It carries the tenant and the
 * model given to key(); without a model it keeps the body, and
 * select({key}) has the library read the body's top-level "model". */
export class Key {
  private constructor();
  readonly hex: string;
  readonly tenant: string | undefined;
  readonly model: string | undefined;
}

export interface SelectRequest {
  /** Raw JSON body. */
  body?: Body;
  /** A precomputed key instead of the body. */
  key?: Key;
  /** The host's API-key / group id. */
  tenant?: string;
  /** Model name; default the body's "model". */
  model?: string;
  /** Request headers (explicit session ids: x-session-id, X-Claude-Code-Session-Id, ...). */
  headers?: HeadersLike;
  /** Host-given session id. */
  sessionId?: string;
  /** Dedicated mode: never move a bound session (NoChannelError instead). */
  strict?: boolean;
  channels: ChannelSet | Iterable<string | Channel>;
  /** selectAsync only: abort a selection in flight. */
  signal?: AbortSignal;
}

export interface Outcome {
  /** The upstream's HTTP status. */
  status?: number;
  /** Its response headers (rate-limit headers are read). */
  headers?: HeadersLike;
  /** No answer in time. */
  timeout?: boolean;
  /** Connection failed / reset. */
  transport?: boolean;
  retryAfterSeconds?: number;
  resetEpochSeconds?: number;
}

export interface SendResult<T> {
  status: number;
  headers?: HeadersLike;
  result: T;
}

export interface RedisOptions {
  host?: string;
  port?: number;
  unixPath?: string;
  username?: string;
  password?: string;
  /** Key prefix, default "sticky:". */
  prefix?: string;
  clientName?: string;
  db?: number;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  poolSize?: number;
  ttlSeconds?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
}

/** sticky_config settings in camelCase, and the Router's own options. */
export interface RouterOptions {
  ttlSeconds?: number;
  renewThresholdSeconds?: number;
  maxSessions?: number;
  messageCount?: number;
  includeSystemPrompt?: boolean | number;
  explicitSources?: number;
  selectPolicy?: 'lru' | 'rendezvous' | 'random' | number;
  migrateBetterTier?: boolean | number;
  leastBad?: boolean | number;
  boundedLoadPermille?: number;
  cooldown429Seconds?: number;
  retryAfterCapSeconds?: number;
  cooldown529Seconds?: number;
  cooldown503Seconds?: number;
  cooldown5xxSeconds?: number;
  cooldownAuthSeconds?: number;
  breakerFailures?: number;
  breakerCooldownSeconds?: number;
  logLevel?: number;
  /** Milliseconds since the epoch (tests inject a fake clock). */
  clock?: () => number;
  /** Path of a shared-memory segment shared by every process that opens it. */
  shm?: string;
  /** Sessions in Redis, on Node's own event loop (selectAsync). */
  redis?: RedisOptions;
  /** Read STICKY_* / SESSION_* environment variables first. */
  fromEnv?: boolean;
}

export interface Stats {
  requests: number;
  hits: number;
  promotedHits: number;
  newSessions: number;
  failovers: number;
  spills: number;
  migrations: number;
  strictRejections: number;
  noChannel: number;
  storeErrors: number;
  reports: number;
  channels: number;
  tenantMismatches: number;
}

export class Router {
  constructor(options?: RouterOptions);
  /** Whether selections complete later (a Redis store). */
  readonly async: boolean;
  /** Selections in flight. */
  readonly pending: number;
  readonly closed: boolean;
  /** Synchronous select (memory / shm). With Redis: StickyError STICKY_EWOULDBLOCK. */
  select(req: SelectRequest): Decision;
  /** Never blocks the event loop; resolves at once with memory / shm. */
  selectAsync(req: SelectRequest): Promise<Decision>;
  report(decision: Decision, outcome: Outcome): void;
  release(decision: Decision): void;
  key(body: Body, opts?: { tenant?: string; model?: string; headers?: HeadersLike; sessionId?: string }): Key;
  /** select -> send -> report, retrying on 401/403/408/429/500/502/503/504/529 up to maxAttempts (default 3). */
  route<T>(
    request: Omit<SelectRequest, 'channels'> & { channels?: SelectRequest['channels'] },
    send: (decision: Decision) => Promise<SendResult<T>> | SendResult<T>,
    options?: { channels?: SelectRequest['channels']; maxAttempts?: number },
  ): Promise<T>;
  stats(): Stats;
  prometheus(): string;
  /** Idempotent; selections in flight reject with code ERR_STICKY_CLOSED. */
  close(): void;
}

/** A libsticky call failed. */
export class StickyError extends Error {
  /** The library's negative error code. */
  readonly code: number;
  /** Its symbolic name, e.g. "STICKY_EINVAL". */
  readonly name: string;
}

/** No channel is usable for the request. */
export class NoChannelError extends StickyError {
  /** When one may be usable again (ms since the epoch; 0 unknown). */
  readonly retryAtMs: number;
}

/** Throw from send() to have route() report a timeout. */
export class TimeoutError extends Error {
  constructor(message?: string);
  readonly code: 'ETIMEDOUT';
}

export const RETRYABLE: ReadonlySet<number>;
export const libraryVersion: string;
export const headersVersion: string;
export const libraryPath: string;
export const hasRedis: boolean;
