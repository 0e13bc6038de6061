"""The checked-in OpenAPI 3.1 document rendered as OpenAPI 3.0, for generators that read only
3.0 (progenitor, behind the Rust SDK).

Usage: openapi_3_0.py IN.json OUT.json

Only what taskgate's document uses is translated; anything else of 3.1 makes this fail rather
than produce a document that means something else:
- `type: [T, "null"]` and a `oneOf` with a `{"type": "null"}` branch become `nullable: true`;
- numeric `exclusiveMinimum`/`exclusiveMaximum` become the 3.0 boolean beside the bound;
- `const` becomes a one-value `enum`;
- cross-field rules (`if`/`then`/`not`) are left out: 3.0 generators cannot express them and
  the server checks them anyway;
- an event stream's `itemSchema` (3.2) is left out: a 3.0 event stream has no item schema;
- the license's SPDX `identifier` (3.1) is left out;
- string length bounds are left out: progenitor makes every bounded string a newtype to parse
  before use, and the server checks the bounds anyway (a 400 naming the field).
"""

import json
import sys

DROPPED = {"if", "then", "else", "not"}
UNKNOWN_31 = {"prefixItems", "dependentSchemas", "unevaluatedProperties", "$defs", "contains"}


def nullable_branch(branch):
    return branch == {"type": "null"}


def schema(node):
    """One schema object, translated in place."""
    if not isinstance(node, dict):
        return node
    for key in UNKNOWN_31 & node.keys():
        raise SystemExit(f"openapi_3_0: no 3.0 form for {key!r} in {json.dumps(node)[:200]}")
    for key in DROPPED & node.keys():
        del node[key]
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) != 1:
            raise SystemExit(f"openapi_3_0: type {kind} has no 3.0 form")
        node["type"] = kinds[0]
        if "null" in kind:
            node["nullable"] = True
    for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            node[bound] = value
            node[key] = True
    if node.get("type") == "string":
        node.pop("minLength", None)
        node.pop("maxLength", None)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "oneOf" in node:
        branches = [b for b in node["oneOf"] if not nullable_branch(b)]
        if len(branches) < len(node["oneOf"]):
            node["nullable"] = True
            if len(branches) == 1:
                del node["oneOf"]
                node["allOf"] = branches
            else:
                node["oneOf"] = branches
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in node.get(key, []):
            schema(branch)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            schema(node[key])
    for value in node.get("properties", {}).values():
        schema(value)
    return node


def media_types(content):
    for media in content.values():
        media.pop("itemSchema", None)
        if "schema" in media:
            schema(media["schema"])


def operation(op):
    for parameter in op.get("parameters", []):
        if "schema" in parameter:
            schema(parameter["schema"])
    media_types(op.get("requestBody", {}).get("content", {}))
    for response in op.get("responses", {}).values():
        media_types(response.get("content", {}))


def main(source, target):
    with open(source) as f:
        doc = json.load(f)
    doc["openapi"] = "3.0.3"
    doc["info"].get("license", {}).pop("identifier", None)
    for item in doc["paths"].values():
        for parameter in item.get("parameters", []):
            schema(parameter.get("schema"))
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                operation(item[method])
    for value in doc.get("components", {}).get("schemas", {}).values():
        schema(value)
    for response in doc.get("components", {}).get("responses", {}).values():
        media_types(response.get("content", {}))
    with open(target, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
