// Types the bench's JavaScript shares through JSDoc (`@typedef {import('./types.ts').X} X`).
// Nothing runs this file; tsconfig.tools.json checks the bench against it.
import type { GraphQLSchema } from 'graphql';

/** Which bench token an operation sends (see fixture/auth.mjs). */
export type BenchTokenName = 'reader' | 'writer';
export type BenchTokens = Record<BenchTokenName, string>;
/** The configuration variables of the app under test (fixture/auth.mjs BENCH_VARS). */
export type BenchVars = Record<string, string>;

/** One benchmarked GraphQL operation (fixture/operations.mjs). */
export interface BenchOperation {
  label: string;
  token: BenchTokenName;
  query: string;
  variables: () => Record<string, unknown>;
  /** The MCP tool call doing the same work, when there is one. */
  mcp?: { tool: string; arguments: Record<string, unknown> };
}

/** What an in-process server factory of inprocess/variants.mjs is given. */
export interface VariantOptions {
  schema: GraphQLSchema;
  db: D1Database;
  vars: BenchVars;
  tokens: BenchTokens;
}

/** An in-process server: `run` resolves to the response body as text. */
export interface Variant {
  name: string;
  run(op: BenchOperation): Promise<string>;
  close?: () => Promise<unknown>;
  /** Operations this variant does not run (the sqlite floor replays reads only). */
  skips?: (op: BenchOperation) => boolean;
}

/** One timed loop (inprocess/measure.mjs timeLoop). */
export interface LoopSample {
  n: number;
  wallMs: number;
  /** Process CPU (all threads). */
  cpuUs: number;
  /** The main thread's CPU (process.threadCpuUsage), null where Node lacks it. */
  threadCpuUs: number | null;
}

/** IPC between inprocess/forkVariant.mjs and inprocess/variantProcess.mjs. */
export type VariantRequest = { exit: true } | { id: number; op: string; ms: number };
export type VariantReply = { ready: true } | ({ id: number } & LoopSample);

/** A section that failed: bench/run.mjs records why instead of its figures. */
export interface SectionError {
  error: string;
}

/** One server's figures in the in-process section (inprocess/measure.mjs alternate). */
export interface ServerFigures {
  /** Mean over rounds, and the 95% interval's half-width relative to it (0.05 is ±5%). */
  opsPerSec: number;
  opsPerSecCi95: number;
  mainThreadCpuUsPerOp: { mean: number; ci95: number } | null;
  processCpuUsPerOp: { mean: number; ci95: number };
  rounds: number[];
}
export interface InProcessOperation {
  label: string;
  rounds: number;
  /** Whether every server's interval is within the target; `wide` names those that are not. */
  converged: boolean;
  wide: string[];
  servers: Record<string, ServerFigures>;
  /** Ours / theirs, by server: operations/s, and main-thread CPU per operation (theirs / ours). */
  ratios: Record<string, number>;
  cpuRatios: Record<string, number | null>;
}
export interface StatementCounts {
  counts: Record<string, Record<string, number>>;
  sql: Record<string, string[]>;
}
export interface InProcessResult {
  minRounds: number;
  maxRounds: number;
  target: number;
  ablations: string[];
  roundMs: number;
  warmupMs: number;
  operations: Record<string, InProcessOperation>;
  statements: StatementCounts;
}

/** One autocannon run (http/load.mjs). */
export interface HttpFigures {
  rps: number;
  /** The 95% interval of rps over rounds, relative to it (set in the section's summary). */
  rpsCi95?: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}
export type HttpServer =
  | 'changeflow'
  | 'changeflowNoLimiter'
  | 'mercurius'
  | 'mercuriusJit'
  | 'apollo'
  | 'apolloNoCacheControl'
  | 'floor';
export type HttpComparison = Record<HttpServer, HttpFigures> & {
  ratios: Record<string, number>;
  rounds: number;
  converged: boolean;
  wide: string[];
};
export interface HttpResult {
  minRounds: number;
  maxRounds: number;
  target: number;
  durationS: number;
  /** Query → `c<connections>` → the servers' figures. */
  results: Record<string, Record<string, HttpComparison>>;
}

/** Requests/s and latency percentiles (ms) of one variant (lib.mjs sideBySide). */
export interface RateFigures {
  rate: number;
  rateMean?: number;
  rateCi95?: number;
  p50: number;
  p99: number;
}
export interface Comparison {
  graphql: RateFigures;
  mcp: RateFigures;
  ratio: number;
}
export interface WorkerResult {
  rounds: number;
  requests: number;
  concurrency: number;
  sameJson: boolean;
  startupMs?: { fromSource: number; appBundle: number; floorBundle?: number };
  sameJsonSingle?: boolean;
  listVsFloor?: {
    graphql: RateFigures;
    graphqlNoLimiter?: RateFigures;
    floor: RateFigures;
    noop?: RateFigures;
    ratio: number;
    ratioNoLimiter?: number;
    ratioVsNoop?: number;
  };
  singleVsFloor?: {
    graphql: RateFigures;
    floor: RateFigures;
    noop: RateFigures;
    ratio: number;
    ratioVsNoop: number;
  };
  mcpSingle: Comparison;
  mcpList: Comparison;
}

export interface BundleResult {
  rawBytes: number;
  gzipBytes: number;
  wranglerGzipKiB: number;
  samples: number;
  evalMs: number;
  firstRequestMs: number;
}

/** bench/results/latest.json, as bench/run.mjs writes it and bench/report.mjs prints it. */
export interface BenchReport {
  meta: {
    date: string;
    mode: string;
    node: string;
    cpus: number;
    cpuModel: string;
    loadStart: number[];
    loadEnd: number[];
    durationS: number;
    commit: string | null;
    dirty: boolean;
    /** A smoke run (--quick or --smoke): proves the bench runs; its figures are not results. */
    smoke?: boolean;
    sections: string[];
  };
  inProcess?: InProcessResult | SectionError;
  http?: HttpResult | SectionError;
  worker?: WorkerResult | SectionError;
  bundle?: BundleResult | SectionError;
}
