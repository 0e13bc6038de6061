"""Drives caikit-nlp-client, unchanged, against a taskgate server over HTTP and gRPC.

Prints one JSON object with what each call returned (or raised), for tests/caikit_clients.rs
to compare with taskgate's own REST answers.
"""

import argparse
import json

from caikit_nlp_client import GrpcClient, HttpClient


def outcome(call):
    try:
        value = call()
        return {"ok": list(value) if not isinstance(value, str) else value}
    except Exception as error:  # the client's own error types are what is being checked
        return {"error": type(error).__name__, "message": str(error)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--grpc", required=True, help="host:port")
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", required=True)
    args = parser.parse_args()

    host, port = args.grpc.rsplit(":", 1)
    http = HttpClient(args.http)
    grpc = GrpcClient(host, int(port), insecure=True)
    greedy = {"max_new_tokens": 10, "min_new_tokens": 2}
    sampled = {
        "max_new_tokens": 10,
        "decoding_method": "SAMPLING",
        "seed": 5,
        "temperature": 0.8,
        "top_k": 30,
        "top_p": 0.95,
    }
    result = {}
    for name, params in [("greedy", greedy), ("sampled", sampled)]:
        for transport, client in [("http", http), ("grpc", grpc)]:
            result[f"{transport}_{name}"] = outcome(
                lambda: client.generate_text(args.model, args.prompt, **params)
            )
            result[f"{transport}_{name}_stream"] = outcome(
                lambda: client.generate_text_stream(args.model, args.prompt, **params)
            )
    result["grpc_preserved"] = outcome(
        lambda: grpc.generate_text(
            args.model, args.prompt, max_new_tokens=3, preserve_input_text=True
        )
    )
    result["http_unknown_model"] = outcome(lambda: http.generate_text("no-such-model", "hi"))
    result["grpc_unknown_model"] = outcome(lambda: grpc.generate_text("no-such-model", "hi"))
    result["grpc_unknown_model_stream"] = outcome(
        lambda: grpc.generate_text_stream("no-such-model", "hi")
    )
    result["http_bad_parameter"] = outcome(
        lambda: http.generate_text(args.model, "hi", temperature=0.01, decoding_method="SAMPLING")
    )
    result["grpc_bad_parameter"] = outcome(
        lambda: grpc.generate_text(args.model, "hi", temperature=0.01, decoding_method="SAMPLING")
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
