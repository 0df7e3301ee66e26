// What test/globalSetup.ts hands to the tests through vitest's provide/inject.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the loopback upstream stand-in (test/upstream/server.ts), e.g. http://127.0.0.1:41234. */
    upstreamUrl: string;
  }
}
