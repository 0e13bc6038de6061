// taskgate's server-sent event streams as async iterators that end or throw.
//
// Hand-written beside the generated client (scripts/gen-sdks keeps this file). The generated
// SSE functions reconnect after a failure, resending the request, and hand an `event: error`
// over as if it were data. A generation must not be sent twice, and a refusal must reach the
// caller with its body, so these wrappers make one attempt, throw `TaskgateError` for a
// refusal (any status but 200) or for an `event: error` sent after the stream started, and end
// when the server ends the stream.

import type { Client } from './generated/client/index.js';
import { client as defaultClient } from './generated/client.gen.js';
import type { ServerSentEventsResult, StreamEvent } from './generated/core/serverSentEvents.gen.js';
import {
  serverStreamingTextGenerationTaskPredict,
  trainingEvents as trainingEventStream,
} from './generated/sdk.gen.js';
import type {
  ErrorBody,
  GeneratedTextStreamResult,
  TextGenerationRequest,
  TrainingStatusResponse,
} from './generated/types.gen.js';

/**
 * A refusal or a failure, with taskgate's error body when the server sent one. `status` is the
 * HTTP status the failure stands for: the answer's, or for a failure after the stream started
 * (whose answer was a 200) the error body's `code`.
 */
export class TaskgateError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | undefined,
    text = '',
  ) {
    super(`${status}: ${body?.details ?? text}`);
    this.name = 'TaskgateError';
  }
}

/** What every call here takes besides its own arguments. */
export interface StreamOptions {
  client?: Client;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

type Fetch = typeof globalThis.fetch;

/** `fetch` that throws the refusal instead of handing a non-200 answer to the event reader. */
function refusing(inner: Fetch): Fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    if (response.ok) {
      return response;
    }
    const text = await response.text();
    let body: ErrorBody | undefined;
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      body = undefined;
    }
    throw new TaskgateError(response.status, body, text);
  };
}

async function* typed<T>(
  options: StreamOptions,
  open: (hooks: Record<string, unknown>) => Promise<ServerSentEventsResult<unknown>>,
): AsyncGenerator<T, void, unknown> {
  const client = options.client ?? defaultClient;
  let failure: unknown;
  let event: string | undefined;
  const { stream } = await open({
    client,
    headers: options.headers,
    signal: options.signal,
    fetch: refusing(client.getConfig().fetch ?? globalThis.fetch),
    sseMaxRetryAttempts: 1,
    onSseError: (error: unknown) => {
      failure = error;
    },
    onSseEvent: (seen: StreamEvent) => {
      event = seen.event;
    },
  });
  for await (const data of stream) {
    if (event === 'error') {
      const body = data as ErrorBody;
      throw new TaskgateError(body.code ?? 500, body);
    }
    yield data as T;
  }
  if (failure !== undefined) {
    throw failure;
  }
}

/** `POST /api/v1/task/server-streaming-text-generation`, one result per event. */
export function streamTextGeneration(
  body: TextGenerationRequest,
  options: StreamOptions = {},
): AsyncGenerator<GeneratedTextStreamResult, void, unknown> {
  return typed(options, (hooks) => serverStreamingTextGenerationTaskPredict({ ...hooks, body }));
}

/** `GET /management/trainings/events`: the job's status at each change, until its final state. */
export function trainingEvents(
  trainingId: string,
  options: StreamOptions = {},
): AsyncGenerator<TrainingStatusResponse, void, unknown> {
  return typed(options, (hooks) =>
    trainingEventStream({ ...hooks, query: { training_id: trainingId } }),
  );
}
