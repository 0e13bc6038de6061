"""Baselines for benches/embeddings.rs: sentences/s of PyTorch sentence-transformers and of
onnxruntime (on an ONNX export of the same model, numpy mean pooling + L2 norm) at batch 1/8/32.
Prints JSON: {"torch": {"1": .., "8": .., "32": ..}, "onnxruntime": {...}}."""
import json, os, sys, tempfile, time

model_dir, threads = sys.argv[1], int(sys.argv[2])
SUBJECTS = ["A man", "The woman", "A child", "My neighbour", "The old dog", "A student", "Our team", "The pilot"]
ACTIONS = ["is playing a guitar", "reads a long book", "walks to the market", "cooks dinner tonight"]
TEXTS = [f"{s} {a} in the park." for s in SUBJECTS for a in ACTIONS]


def measure(batch, step):
    chunk = TEXTS[:batch]
    step(chunk)
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < 3.0 or done < 3 * batch:
        step(chunk)
        done += batch
    return done / (time.perf_counter() - start)


import numpy as np
import torch
from sentence_transformers import SentenceTransformer

torch.set_num_threads(threads)
st = SentenceTransformer(model_dir, device="cpu")
results = {"torch": {}, "onnxruntime": {}}
with torch.inference_mode():
    for b in (1, 8, 32):
        results["torch"][str(b)] = measure(b, lambda c: st.encode(c, batch_size=len(c)))

import onnxruntime as ort
from tokenizers import Tokenizer

bert = st[0].auto_model.eval()


class Wrapper(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.m(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state


onnx_path = os.path.join(tempfile.mkdtemp(), "minilm.onnx")
dummy = torch.ones(1, 8, dtype=torch.long)
torch.onnx.export(Wrapper(bert), (dummy, dummy, torch.zeros_like(dummy)), onnx_path, opset_version=17,
                  input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["hidden"],
                  dynamic_axes={n: {0: "b", 1: "l"} for n in ["input_ids", "attention_mask", "token_type_ids", "hidden"]},
                  dynamo=False)
options = ort.SessionOptions()
options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tok.no_truncation()
tok.enable_padding()


def ort_step(chunk):
    enc = tok.encode_batch(chunk)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(1) / m.sum(1)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


for b in (1, 8, 32):
    results["onnxruntime"][str(b)] = measure(b, ort_step)
print(json.dumps(results))
