"""The official `openai` Python package against taskgate, pointed at it by `base_url` alone.

Usage: openai_sdk_check.py BASE_URL CHAT_MODEL EMBEDDING_MODEL

Makes every call the OpenAI tests need and prints what it saw as one JSON object; the Rust
test (tests/clients/openai_sdks.rs) compares it with taskgate's own task API. A call that
fails where it should succeed raises, which fails the test.
"""

import base64
import json
import struct
import sys

import openai

base_url, chat_model, embedding_model = sys.argv[1:4]
client = openai.OpenAI(base_url=base_url, api_key="unused-on-a-keyless-loopback-server")

MESSAGES = [
    {"role": "system", "content": "You are concise."},
    {"role": "user", "content": "Name three colours."},
]
seen = {}

whole = client.chat.completions.create(
    model=chat_model, messages=MESSAGES, temperature=0, max_tokens=24, logprobs=True
)
seen["chat"] = {
    "text": whole.choices[0].message.content,
    "role": whole.choices[0].message.role,
    "finish_reason": whole.choices[0].finish_reason,
    "usage": whole.usage.model_dump(),
    "logprobs": len(whole.choices[0].logprobs.content),
    "logprob_bytes_match": all(
        bytes(t.bytes).decode("utf-8", "replace") == t.token
        for t in whole.choices[0].logprobs.content
    ),
    "model": whole.model,
}

text, usage, finish, chunks = "", None, None, 0
with client.chat.completions.create(
    model=chat_model,
    messages=MESSAGES,
    temperature=0,
    max_tokens=24,
    stream=True,
    stream_options={"include_usage": True},
) as stream:
    for chunk in stream:
        chunks += 1
        if chunk.usage is not None:
            usage = chunk.usage.model_dump()
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
seen["chat_stream"] = {"text": text, "usage": usage, "finish_reason": finish, "chunks": chunks}

completion = client.completions.create(
    model=chat_model, prompt="1, 2, 3,", temperature=0, max_tokens=12, stop=[" 6"]
)
seen["completion_stop"] = {
    "text": completion.choices[0].text,
    "finish_reason": completion.choices[0].finish_reason,
    "usage": completion.usage.model_dump(),
}
completion = client.completions.create(
    model=chat_model, prompt="The capital of France is", temperature=0, max_tokens=5
)
seen["completion"] = {
    "text": completion.choices[0].text,
    "finish_reason": completion.choices[0].finish_reason,
}

sampled = [
    client.chat.completions.create(
        model=chat_model, messages=MESSAGES, temperature=1.0, seed=seed, max_tokens=16
    ).choices[0].message.content
    for seed in (7, 7, 8)
]
seen["seeded"] = sampled

floats = client.embeddings.create(
    model=embedding_model, input=["A man plays a guitar.", "Bananas"], encoding_format="float"
)
encoded = client.embeddings.create(
    model=embedding_model, input="A man plays a guitar.", encoding_format="base64"
)
raw = base64.b64decode(encoded.data[0].embedding)
decoded = list(struct.unpack(f"<{len(raw) // 4}f", raw))
seen["embeddings"] = {
    "count": len(floats.data),
    "dimension": len(floats.data[0].embedding),
    "base64_equals_float": max(abs(a - b) for a, b in zip(decoded, floats.data[0].embedding)),
    "usage": floats.usage.model_dump(),
    "first": floats.data[0].embedding[:4],
}

seen["models"] = sorted(m.id for m in client.models.list())
seen["model"] = client.models.retrieve(chat_model).id


def refusal(call):
    try:
        call()
    except openai.APIStatusError as error:
        body = error.body if isinstance(error.body, dict) else {}
        return {
            "class": type(error).__name__,
            "status": error.status_code,
            "param": body.get("param"),
            "type": body.get("type"),
            "code": body.get("code"),
        }
    return {"class": None}


seen["unknown_model"] = refusal(
    lambda: client.chat.completions.create(model="no-such-model", messages=MESSAGES)
)
seen["bad_parameter"] = refusal(
    lambda: client.chat.completions.create(model=chat_model, messages=MESSAGES, n=2)
)
seen["penalty"] = refusal(
    lambda: client.chat.completions.create(
        model=chat_model, messages=MESSAGES, presence_penalty=0.5
    )
)
seen["unknown_model_retrieve"] = refusal(lambda: client.models.retrieve("no-such-model"))

print(json.dumps(seen))
