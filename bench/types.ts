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
}

/** One timed loop (inprocess/measure.mjs timeLoop). */
export interface LoopSample {
  n: number;
  wallMs: number;
  cpuUs: number;
}

/** IPC between inprocess/forkVariant.mjs and inprocess/variantProcess.mjs. */
export type VariantRequest = { exit: true } | { id: number; op: string; ms: number };
export type VariantReply = { ready: true } | ({ id: number } & LoopSample);
