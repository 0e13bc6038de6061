"""Support-ticket triage through taskgate's Python SDK (openapi/sdk/python).

For one ticket: how the customer feels (text classification with `sentiment`), the ticket
with its personal data redacted (token classification with `pii-rules`), and a draft reply
streamed as it is generated (`smollm2`). The models are the default config's.

    pip install ./openapi/sdk/python
    python examples/ticket_triage.py [--url http://127.0.0.1:8080] ["ticket text"]
"""

import argparse
import sys

from taskgate_client import Client
from taskgate_client.api.tasks import text_classification_task_predict, token_classification_task_predict
from taskgate_client.models import (
    ErrorBody,
    TextClassificationRequest,
    TextGenerationParameters,
    TextGenerationRequest,
    TokenClassificationRequest,
)
from taskgate_client.streaming import stream_text_generation

SAMPLE = (
    "My order arrived broken and nobody answers my emails. This is terrible. "
    "Reach me at jane.doe@example.com or +1 415 555 0100."
)


def answer(result):
    """The SDK answers a refusal as the typed `ErrorBody`; an app stops there."""
    if isinstance(result, ErrorBody):
        sys.exit(f"taskgate refused ({result.code}): {result.details}")
    return result


def redact(text, spans):
    """`text` with each span replaced by its entity type; offsets are code points, as Python
    indexes strings."""
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[: span.start] + f"[{span.entity}]" + text[span.end :]
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("ticket", nargs="?", default=SAMPLE)
    args = parser.parse_args()
    client = Client(base_url=args.url, raise_on_unexpected_status=True)

    feeling = answer(
        text_classification_task_predict.sync(
            client=client, body=TextClassificationRequest(model_id="sentiment", inputs=args.ticket)
        )
    ).results[0]
    priority = "high" if feeling.label == "negative" else "normal"
    print(f"sentiment: {feeling.label} ({feeling.score:.2f}), priority: {priority}")

    spans = answer(
        token_classification_task_predict.sync(
            client=client, body=TokenClassificationRequest(model_id="pii-rules", inputs=args.ticket)
        )
    ).results
    redacted = redact(args.ticket, spans)
    print(f"redacted: {redacted}")

    # The model drafts from the redacted ticket: personal data never reaches it.
    prompt = (
        "<|im_start|>system\nYou are a polite support agent. Answer in two sentences.<|im_end|>\n"
        f"<|im_start|>user\n{redacted}<|im_end|>\n<|im_start|>assistant\n"
    )
    request = TextGenerationRequest(
        model_id="smollm2", inputs=prompt, parameters=TextGenerationParameters(max_new_tokens=48)
    )
    print("reply: ", end="", flush=True)
    events = 0
    for event in stream_text_generation(client, request):
        print(event.generated_text, end="", flush=True)
        events += 1
    print(f"\n({events} events streamed)")


if __name__ == "__main__":
    main()
