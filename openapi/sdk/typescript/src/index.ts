// The TypeScript SDK: the generated client (`./generated`, from scripts/gen-sdks) and the
// hand-written stream helpers.
export * from './generated/index.js';
export { createClient, createConfig } from './generated/client/index.js';
export type { Client, Config } from './generated/client/index.js';
export { client } from './generated/client.gen.js';
export { TaskgateError, streamTextGeneration, trainingEvents } from './streams.js';
export type { StreamOptions } from './streams.js';
