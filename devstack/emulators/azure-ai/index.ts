/**
 * Azure AI model inference emulator (`GET /info`, `POST /chat/completions`; deterministic answers; quotas and
 * fault injection). Only devstack/ and test/ use it; production code just sees an endpoint URL.
 */
export { startAiEmulator, SUPPORTED_API_VERSIONS, type AiEmulator, type AiEmulatorOptions } from './server.ts';
export type { AiModel, AiModelConfig } from './models.ts';
export type { AiFaults, ThrottleFault } from './faults.ts';
export type { AiCallFilter, AiCallLog, AiCallRecord } from './call-log.ts';
export type { ErrorShape } from './error-bodies.ts';
export type { ImageFacts } from './image-analysis.ts';
