"""The generated Python SDK (openapi/sdk/python) against a live taskgate.

Usage: sdk_check.py BASE_URL CALLS_JSON

CALLS_JSON maps each task's route name to a request body. Every body goes through the SDK's
typed request model and the task's generated function; the answers are printed as one JSON
object for the Rust test to hold against the task API's own answers. The streamed generation
runs both as an iterator and as an async iterator; then the info, OpenAI, training and
management routes, and the refusals as typed errors.
"""

import asyncio
import json
import sys

from taskgate_client import Client
from taskgate_client.api.info import models, version
from taskgate_client.api.management import model_states
from taskgate_client.api.openai import list_models
from taskgate_client.api.tasks import (
    embedding_task_predict,
    embedding_tasks_predict,
    rerank_task_predict,
    rerank_tasks_predict,
    sentence_similarity_task_predict,
    sentence_similarity_tasks_predict,
    text_classification_task_predict,
    text_generation_task_predict,
    token_classification_task_predict,
    tokenization_task_predict,
)
from taskgate_client.api.training import trainings
from taskgate_client.models import (
    EmbeddingRequest,
    EmbeddingTasksRequest,
    ErrorBody,
    RerankRequest,
    RerankTasksRequest,
    SentenceSimilarityRequest,
    SentenceSimilarityTasksRequest,
    TextClassificationRequest,
    TextGenerationRequest,
    TokenClassificationRequest,
    TokenizationRequest,
)
from taskgate_client.streaming import TaskgateError, astream_text_generation, stream_text_generation

TASKS = {
    "text-generation": (text_generation_task_predict, TextGenerationRequest),
    "text-classification": (text_classification_task_predict, TextClassificationRequest),
    "token-classification": (token_classification_task_predict, TokenClassificationRequest),
    "embedding": (embedding_task_predict, EmbeddingRequest),
    "embedding-tasks": (embedding_tasks_predict, EmbeddingTasksRequest),
    "sentence-similarity": (sentence_similarity_task_predict, SentenceSimilarityRequest),
    "sentence-similarity-tasks": (sentence_similarity_tasks_predict, SentenceSimilarityTasksRequest),
    "rerank": (rerank_task_predict, RerankRequest),
    "rerank-tasks": (rerank_tasks_predict, RerankTasksRequest),
    "tokenization": (tokenization_task_predict, TokenizationRequest),
}


def refusal(answer):
    assert isinstance(answer, ErrorBody), f"expected a typed ErrorBody, got {answer!r}"
    return {"code": answer.code, "details": answer.details}


async def streamed_async(client, body):
    return [event.to_dict() async for event in astream_text_generation(client, body)]


def main(base_url, calls):
    client = Client(base_url=base_url, raise_on_unexpected_status=True)
    seen = {"tasks": {}}
    missing = set(TASKS) - set(calls)
    assert not missing, f"no call for {missing}"
    for task, body in calls.items():
        function, request = TASKS[task]
        answer = function.sync(client=client, body=request.from_dict(body))
        assert not isinstance(answer, ErrorBody), f"{task}: {answer!r}"
        seen["tasks"][task] = answer.to_dict()

    generation = TextGenerationRequest.from_dict(calls["text-generation"])
    seen["stream"] = [event.to_dict() for event in stream_text_generation(client, generation)]
    seen["stream_async"] = asyncio.run(streamed_async(client, generation))

    seen["version"] = version.sync(client=client).to_dict()
    seen["models"] = sorted(m.name for m in models.sync(client=client).models)
    seen["model_states"] = sorted(m.name for m in model_states.sync(client=client).models)
    seen["openai_models"] = sorted(m.id for m in list_models.sync(client=client).data)
    seen["trainings"] = trainings.sync(client=client).to_dict()

    unknown = dict(calls["text-classification"], model_id="no-such-model")
    seen["unknown_model"] = refusal(
        text_classification_task_predict.sync(client=client, body=TextClassificationRequest.from_dict(unknown))
    )
    try:
        for _ in stream_text_generation(client, TextGenerationRequest.from_dict(dict(calls["text-generation"], model_id="no-such-model"))):
            pass
        seen["stream_refusal"] = "none"
    except TaskgateError as error:
        seen["stream_refusal"] = {"status": error.status, "code": error.body.code, "details": error.body.details}
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]))
