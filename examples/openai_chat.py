"""A program written for the OpenAI API, unchanged, served by taskgate: point the official
`openai` package at taskgate by its base URL (here through the package's own environment
variables) and it chats with streaming and embeds as it would anywhere else.

    pip install openai
    OPENAI_BASE_URL=http://127.0.0.1:8080/v1 OPENAI_API_KEY=unused python examples/openai_chat.py

With API keys configured, OPENAI_API_KEY is a taskgate key. The models are the default
config's; any served model id works.
"""

import math
import os

from openai import OpenAI

CHAT_MODEL = os.environ.get("CHAT_MODEL", "smollm2")
EMBEDDING_MODEL = os.environ.get("EMBEDDING_MODEL", "all-minilm")

client = OpenAI()

stream = client.chat.completions.create(
    model=CHAT_MODEL,
    messages=[
        {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    max_tokens=32,
    temperature=0,
    stream=True,
    stream_options={"include_usage": True},
)
answer, usage = [], None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        answer.append(chunk.choices[0].delta.content)
        print(chunk.choices[0].delta.content, end="", flush=True)
    if chunk.usage:
        usage = chunk.usage
print()
print(f"usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens")


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


sentences = ["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell."]
vectors = [d.embedding for d in client.embeddings.create(model=EMBEDDING_MODEL, input=sentences).data]
for sentence, vector in zip(sentences[1:], vectors[1:]):
    print(f"similarity to {sentences[0]!r}: {sentence!r} {cosine(vectors[0], vector):.3f}")
