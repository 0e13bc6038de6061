// The official `openai` npm package against taskgate, pointed at it by `baseURL` alone.
//
// Usage: node openai_sdk_check.mjs BASE_URL CHAT_MODEL EMBEDDING_MODEL
//
// Makes every call the OpenAI tests need and prints what it saw as one JSON object; the Rust
// test (tests/clients/openai_sdks.rs) compares it with taskgate's own task API. A call that
// fails where it should succeed throws, which fails the test.

import OpenAI from 'openai';

const [baseURL, chatModel, embeddingModel] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'unused-on-a-keyless-loopback-server' });

const messages = [
  { role: 'system', content: 'You are concise.' },
  { role: 'user', content: 'Name three colours.' },
];
const seen = {};

const whole = await client.chat.completions.create({
  model: chatModel, messages, temperature: 0, max_tokens: 24,
});
seen.chat = {
  text: whole.choices[0].message.content,
  finish_reason: whole.choices[0].finish_reason,
  usage: whole.usage,
  model: whole.model,
};

const stream = await client.chat.completions.create({
  model: chatModel, messages, temperature: 0, max_tokens: 24, stream: true,
  stream_options: { include_usage: true },
});
let text = '';
let usage = null;
let finish = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    text += choice.delta.content ?? '';
    finish = choice.finish_reason ?? finish;
  }
}
seen.chat_stream = { text, usage, finish_reason: finish };

const completion = await client.completions.create({
  model: chatModel, prompt: '1, 2, 3,', temperature: 0, max_tokens: 12, stop: [' 6'],
});
seen.completion_stop = {
  text: completion.choices[0].text,
  finish_reason: completion.choices[0].finish_reason,
  usage: completion.usage,
};

seen.seeded = [];
for (const seed of [7, 7]) {
  const answer = await client.chat.completions.create({
    model: chatModel, messages, temperature: 1.0, seed, max_tokens: 16,
  });
  seen.seeded.push(answer.choices[0].message.content);
}

const floats = await client.embeddings.create({
  model: embeddingModel, input: ['A man plays a guitar.', 'Bananas'], encoding_format: 'float',
});
// Without encoding_format the package asks for base64 and decodes it itself.
const decoded = await client.embeddings.create({
  model: embeddingModel, input: 'A man plays a guitar.',
});
const base64 = await client.embeddings.create({
  model: embeddingModel, input: 'A man plays a guitar.', encoding_format: 'base64',
});
seen.embeddings = {
  count: floats.data.length,
  dimension: floats.data[0].embedding.length,
  base64_equals_float: Math.max(
    ...decoded.data[0].embedding.map((v, i) => Math.abs(v - floats.data[0].embedding[i])),
  ),
  base64_is_text: typeof base64.data[0].embedding === 'string',
  usage: floats.usage,
};

const models = [];
for await (const model of client.models.list()) models.push(model.id);
seen.models = models.sort();
seen.model = (await client.models.retrieve(chatModel)).id;

async function refusal(call) {
  try {
    await call();
  } catch (error) {
    if (error instanceof OpenAI.APIError) {
      return {
        class: error.constructor.name,
        status: error.status,
        param: error.param ?? null,
        type: error.type ?? null,
        code: error.code ?? null,
      };
    }
    throw error;
  }
  return { class: null };
}

seen.unknown_model = await refusal(() => client.chat.completions.create({
  model: 'no-such-model', messages,
}));
seen.bad_parameter = await refusal(() => client.chat.completions.create({
  model: chatModel, messages, n: 2,
}));
seen.penalty = await refusal(() => client.chat.completions.create({
  model: chatModel, messages, frequency_penalty: 0.5,
}));

console.log(JSON.stringify(seen));
