"""A generic gRPC client: discovers taskgate's services and messages through server reflection
(no compiled stubs), then makes each call it is given.

Input (a JSON file): {"calls": [{"method": "caikit.runtime.Nlp.NlpService/EmbeddingTaskPredict",
"model": "all-minilm", "request": {...proto3 JSON...}}, ...]}.
Prints {"services": [...], "results": [{"ok": <response as proto3 JSON>} | {"code", "details"}]};
a streaming method's "ok" is the list of its messages.
"""

import argparse
import json

import grpc
from google.protobuf import json_format
from google.protobuf.descriptor_pool import DescriptorPool
from google.protobuf.message_factory import GetMessageClass
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


def list_services(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    (response,) = list(stub.ServerReflectionInfo(iter([request])))
    return sorted(service.name for service in response.list_services_response.service)


def to_json(message):
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def call(channel, pool, spec):
    service, method_name = spec["method"].split("/")
    method = pool.FindServiceByName(service).FindMethodByName(method_name)
    request_class = GetMessageClass(method.input_type)
    response_class = GetMessageClass(method.output_type)
    request = json_format.ParseDict(spec["request"], request_class())
    path = f"/{service}/{method_name}"
    metadata = [("mm-model-id", spec["model"])] if spec.get("model") else []
    try:
        if method.server_streaming:
            stub = channel.unary_stream(
                path,
                request_serializer=request_class.SerializeToString,
                response_deserializer=response_class.FromString,
            )
            return {"ok": [to_json(m) for m in stub(request, metadata=metadata, timeout=120)]}
        stub = channel.unary_unary(
            path,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        return {"ok": to_json(stub(request, metadata=metadata, timeout=120))}
    except grpc.RpcError as error:
        return {"code": error.code().name, "details": error.details()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc", required=True, help="host:port")
    parser.add_argument("--calls", required=True, help="JSON file of calls")
    args = parser.parse_args()
    with open(args.calls) as file:
        calls = json.load(file)["calls"]
    with grpc.insecure_channel(args.grpc) as channel:
        pool = DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        output = {
            "services": list_services(channel),
            "results": [call(channel, pool, spec) for spec in calls],
        }
    print(json.dumps(output))


if __name__ == "__main__":
    main()
