"""Baseline for benches/generation.rs: llama.cpp (llama-cpp-python) on the same GGUF.
Reads {"prompt": text, "long_ids": [...], "decode": n} on stdin; tokenises `prompt` with
special=True and no BOS, times prefill + first argmax (TTFT includes the tokenisation), `decode`
greedy single-token steps, and a prefill of `long_ids`. Prints one JSON object; peak RSS from
getrusage. `Llama.scores` stays zero in 0.3.x, so logits come from llama_get_logits_ith."""
import json, resource, sys, time

import numpy as np
import llama_cpp
from llama_cpp import Llama

gguf, threads = sys.argv[1], int(sys.argv[2])
spec = json.load(sys.stdin)
llm = Llama(model_path=gguf, n_ctx=1024, n_batch=512, n_threads=threads, n_threads_batch=threads,
            verbose=False)
vocab = llm.n_vocab()


def argmax():
    logits = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return int(np.ctypeslib.as_array(logits, shape=(vocab,)).argmax())


def generate(decode):
    llm.reset()
    start = time.perf_counter()
    ids = llm.tokenize(spec["prompt"].encode(), add_bos=False, special=True)
    tokenised = time.perf_counter()
    llm.eval(ids)
    out = [argmax()]
    first = time.perf_counter()
    for _ in range(decode):
        llm.eval([out[-1]])
        out.append(argmax())
    done = time.perf_counter()
    return ids, out[:decode], first - start, first - tokenised, done - first


def prefill(ids):
    llm.reset()
    start = time.perf_counter()
    llm.eval(ids)
    argmax()
    return time.perf_counter() - start


generate(8)  # warm-up: first-touch page faults and thread start-up
prefill(spec["long_ids"])
ids, generated, ttft, pp, dec = generate(spec["decode"])
long = prefill(spec["long_ids"])
print(json.dumps({
    "prompt_ids": ids,
    "generated": generated,
    "ttft_s": ttft,
    "prefill_s": pp,
    "decode_s": dec,
    "long_prefill_s": long,
    "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
