"""Starts llama-cpp-python's OpenAI-compatible server with weight repacking into extra buffer
types disabled: the AMX repack path crashes on some CPUs at the first decode, and
`llama_cpp.Llama` does not expose the switch (upstream llama-server's `--no-repack`)."""
import sys

import llama_cpp
import llama_cpp.llama

_default_params = llama_cpp.llama_model_default_params


def _without_repack():
    params = _default_params()
    params.use_extra_bufts = False
    return params


llama_cpp.llama_model_default_params = _without_repack
llama_cpp.llama.llama_cpp.llama_model_default_params = _without_repack

from llama_cpp.server.__main__ import main  # noqa: E402  (after the patch, on purpose)

sys.exit(main())
