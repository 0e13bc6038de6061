//! The task catalogue. Adding a task is one `task!` line here plus one registration line in the
//! gateway.

use taskgate_schemas as s;

use crate::Task;

macro_rules! task {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $rpc:literal, $request:ty, $output:ty, $summary:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $ty;

        impl Task for $ty {
            const NAME: &'static str = $name;
            const RPC: &'static str = $rpc;
            const SUMMARY: &'static str = $summary;
            type Request = $request;
            type Output = $output;
        }
    };
}

task!(
    TextGeneration,
    "text-generation",
    "TextGenerationTaskPredict",
    s::TextGenerationRequest,
    s::GeneratedTextResult,
    "Generate text from a prompt"
);
task!(
    /// Server-streaming text generation: `Output` is one event with the text delta.
    ServerStreamingTextGeneration, "server-streaming-text-generation",
    "ServerStreamingTextGenerationTaskPredict", s::TextGenerationRequest,
    s::GeneratedTextStreamResult, "Generate text from a prompt, streamed as server-sent events");
task!(
    TextClassification,
    "text-classification",
    "TextClassificationTaskPredict",
    s::TextClassificationRequest,
    s::ClassificationResults,
    "Classify a text"
);
task!(
    TokenClassification,
    "token-classification",
    "TokenClassificationTaskPredict",
    s::TokenClassificationRequest,
    s::TokenClassificationResults,
    "Find entity spans in a text (offsets in Unicode code points)"
);
task!(
    Tokenization,
    "tokenization",
    "TokenizationTaskPredict",
    s::TokenizationRequest,
    s::TokenizationResults,
    "Split a text into model tokens"
);
task!(
    Embedding,
    "embedding",
    "EmbeddingTaskPredict",
    s::EmbeddingRequest,
    s::EmbeddingResult,
    "Embed a text"
);
task!(
    EmbeddingTasks,
    "embedding-tasks",
    "EmbeddingTasksPredict",
    s::EmbeddingTasksRequest,
    s::EmbeddingResults,
    "Embed several texts"
);
task!(
    SentenceSimilarity,
    "sentence-similarity",
    "SentenceSimilarityTaskPredict",
    s::SentenceSimilarityRequest,
    s::SentenceSimilarityResult,
    "Score a sentence against sentences"
);
task!(
    SentenceSimilarityTasks,
    "sentence-similarity-tasks",
    "SentenceSimilarityTasksPredict",
    s::SentenceSimilarityTasksRequest,
    s::SentenceSimilarityResults,
    "Score several sentences against sentences"
);
task!(
    Rerank,
    "rerank",
    "RerankTaskPredict",
    s::RerankRequest,
    s::RerankResult,
    "Rank documents by relevance to a query"
);
task!(
    RerankTasks,
    "rerank-tasks",
    "RerankTasksPredict",
    s::RerankTasksRequest,
    s::RerankResults,
    "Rank documents for each of several queries"
);
