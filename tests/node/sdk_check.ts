// The generated TypeScript SDK (openapi/sdk/typescript) against a live taskgate, compiled by
// the test with tsc.
//
// Usage: node sdk_check.js BASE_URL CALLS_JSON
//
// CALLS_JSON maps each task's route name to a request body; each goes through the task's
// generated function and the answers are printed as one JSON object for the Rust test to hold
// against the task API's own answers. Then the stream (an async iterator), the info, OpenAI,
// training and management routes, and the refusals as typed errors.

import {
  createClient,
  embeddingTaskPredict,
  embeddingTasksPredict,
  type ErrorBody,
  listModels,
  modelStates,
  models,
  rerankTaskPredict,
  rerankTasksPredict,
  sentenceSimilarityTaskPredict,
  sentenceSimilarityTasksPredict,
  streamTextGeneration,
  TaskgateError,
  textClassificationTaskPredict,
  textGenerationTaskPredict,
  tokenClassificationTaskPredict,
  tokenizationTaskPredict,
  trainings,
  version,
} from 'taskgate-client';

const [baseUrl, callsJson] = process.argv.slice(2);
const calls = JSON.parse(callsJson) as Record<string, any>;
const client = createClient({ baseUrl });

// Each task's generated function, called with its body and `throwOnError`, answers its data.
const tasks: Record<string, (body: any) => Promise<unknown>> = {
  'text-generation': async (body) =>
    (await textGenerationTaskPredict({ client, body, throwOnError: true })).data,
  'text-classification': async (body) =>
    (await textClassificationTaskPredict({ client, body, throwOnError: true })).data,
  'token-classification': async (body) =>
    (await tokenClassificationTaskPredict({ client, body, throwOnError: true })).data,
  embedding: async (body) => (await embeddingTaskPredict({ client, body, throwOnError: true })).data,
  'embedding-tasks': async (body) =>
    (await embeddingTasksPredict({ client, body, throwOnError: true })).data,
  'sentence-similarity': async (body) =>
    (await sentenceSimilarityTaskPredict({ client, body, throwOnError: true })).data,
  'sentence-similarity-tasks': async (body) =>
    (await sentenceSimilarityTasksPredict({ client, body, throwOnError: true })).data,
  rerank: async (body) => (await rerankTaskPredict({ client, body, throwOnError: true })).data,
  'rerank-tasks': async (body) =>
    (await rerankTasksPredict({ client, body, throwOnError: true })).data,
  tokenization: async (body) =>
    (await tokenizationTaskPredict({ client, body, throwOnError: true })).data,
};

const seen: Record<string, unknown> = {};
const answers: Record<string, unknown> = {};
for (const task of Object.keys(tasks)) {
  if (!(task in calls)) throw new Error(`no call for ${task}`);
}
for (const [task, body] of Object.entries(calls)) {
  answers[task] = await tasks[task](body);
}
seen.tasks = answers;

const events = [];
for await (const event of streamTextGeneration(calls['text-generation'], { client })) {
  events.push(event);
}
seen.stream = events;

seen.version = (await version({ client, throwOnError: true })).data;
const sortedNames = (names: string[]) => names.sort();
seen.models = sortedNames(
  (await models({ client, throwOnError: true })).data.models.map((m) => m.name),
);
seen.model_states = sortedNames(
  (await modelStates({ client, throwOnError: true })).data.models.map((m) => m.name),
);
seen.openai_models = sortedNames(
  (await listModels({ client, throwOnError: true })).data.data.map((m) => m.id),
);
seen.trainings = (await trainings({ client, throwOnError: true })).data;

// Without throwOnError a refusal is the typed `error`.
const unknown = { ...calls['text-classification'], model_id: 'no-such-model' };
const refused = await textClassificationTaskPredict({ client, body: unknown });
const error = refused.error as ErrorBody;
seen.unknown_model = { code: error.code, details: error.details };

try {
  const body = { ...calls['text-generation'], model_id: 'no-such-model' };
  for await (const _ of streamTextGeneration(body, { client })) {
    // a refusal yields nothing
  }
  seen.stream_refusal = 'none';
} catch (failure) {
  if (!(failure instanceof TaskgateError)) throw failure;
  seen.stream_refusal = {
    status: failure.status,
    code: failure.body?.code,
    details: failure.body?.details,
  };
}
console.log(JSON.stringify(seen));
