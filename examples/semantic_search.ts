// Semantic search through taskgate's TypeScript SDK (openapi/sdk/typescript): embed a small
// corpus once, then answer each query by embedding it, keeping the corpus's nearest passages by
// cosine, and reranking those with `all-minilm`'s rerank task. The model is the default
// config's.
//
//   (cd openapi/sdk/typescript && npm install && npm run build)
//   npm install ./openapi/sdk/typescript, then compile this file with tsc
//   node semantic_search.js [--url http://127.0.0.1:8080] ["query" ...]

import {
  createClient,
  embeddingTaskPredict,
  embeddingTasksPredict,
  rerankTaskPredict,
} from 'taskgate-client';

const CORPUS = [
  'Paris is the capital and largest city of France.',
  'The Great Barrier Reef is the largest coral reef system in the world.',
  'Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.',
  'Mount Everest is the highest mountain above sea level.',
  'The Python language was first released by Guido van Rossum in 1991.',
  'Espresso is brewed by forcing hot water through finely ground coffee.',
  'The Nile is a major river flowing north through northeastern Africa.',
  'A cold front can bring thunderstorms and a sudden drop in temperature.',
];
const QUERIES = [
  'Which city is the French capital?',
  'How do plants make their food?',
  'Who created Python?',
];
const MODEL = 'all-minilm';
const CANDIDATES = 3;

const args = process.argv.slice(2);
let baseUrl = 'http://127.0.0.1:8080';
const at = args.indexOf('--url');
if (at >= 0) {
  baseUrl = args[at + 1];
  args.splice(at, 2);
}
const queries = args.length > 0 ? args : QUERIES;
const client = createClient({ baseUrl });

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

// `throwOnError` makes a refusal throw its typed error body instead of returning it.
const corpus = await embeddingTasksPredict({
  client,
  body: { model_id: MODEL, inputs: CORPUS },
  throwOnError: true,
});
const vectors = corpus.data.results.vectors.map((v) => v.data.values);
console.log(`indexed ${vectors.length} passages of ${vectors[0].length} dimensions`);

for (const query of queries) {
  const embedded = await embeddingTaskPredict({
    client,
    body: { model_id: MODEL, inputs: query },
    throwOnError: true,
  });
  const q = embedded.data.result.data.values;
  const nearest = vectors
    .map((v, index) => ({ index, score: cosine(q, v) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, CANDIDATES);
  const reranked = await rerankTaskPredict({
    client,
    body: {
      model_id: MODEL,
      inputs: { query, documents: nearest.map((n) => ({ text: CORPUS[n.index] })) },
      parameters: { top_n: 1, return_documents: true },
    },
    throwOnError: true,
  });
  const best = reranked.data.result.scores[0];
  console.log(`${query} -> ${best.document?.text} (${best.score.toFixed(3)})`);
}
