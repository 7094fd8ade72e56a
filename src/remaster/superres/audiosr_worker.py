"""AudioSR worker: runs in AudioSR's own environment, speaks JSON lines on stdin/stdout.

AudioSR's package pins numpy <= 1.23.5 and transformers 4.30.2, so it cannot share Sori's environment.
Sori starts this file with the interpreter of an environment that has AudioSR. It imports nothing from
Sori, and needs only the standard library, numpy, soundfile and audiosr.

    -> {"cmd": "load", "model": "basic", "device": "auto"}
    <- {"ok": true, "device": "cuda"}  |  {"ok": false, "kind": "not_installed" | "weights_missing" | "error",
                                           "message": "..."}
    -> {"cmd": "run", "input": "chunk.wav", "output": "out.wav", "seed": 0, "steps": 50, "guidance": 3.5}
    <- {"ok": true}
    -> {"cmd": "quit"}
"""

import json
import sys
import traceback

# AudioSR fetches the roberta-base tokenizer when it is imported, and its own checkpoint when a model is
# built: offline, either shows up as one of these.
OFFLINE_HINTS = ("offline", "couldn't connect", "could not connect", "connection", "localentrynotfound",
                 "cannot find the requested files", "max retries", "name resolution", "not found in cache",
                 "can't load tokenizer", "huggingface.co", "hf_hub")


def reply(**message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def classify(error):
    text = f"{type(error).__name__}: {error}".lower()
    if any(hint in text for hint in OFFLINE_HINTS):
        return "weights_missing"
    return "error"


def _device(requested):
    if requested != "auto":
        return requested
    try:
        import torch
        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:
        return "cpu"


def load(request):
    """Import audiosr and build its model; the model, or None after replying why not."""
    try:
        import audiosr
    except ImportError as error:
        reply(ok=False, kind="not_installed", message=f"{type(error).__name__}: {error}")
        return None
    except Exception as error:   # audiosr's own import-time work (the tokenizer download, torch checks)
        kind = classify(error)
        reply(ok=False, kind="not_installed" if kind == "error" else kind, message=f"{type(error).__name__}: {error}")
        return None
    device = _device(request.get("device", "auto"))
    try:
        model = audiosr.build_model(model_name=request.get("model", "basic"), device=device)
    except Exception as error:
        reply(ok=False, kind=classify(error), message=f"{type(error).__name__}: {error}")
        return None
    reply(ok=True, device=device)
    return model


def run(model, request):
    try:
        import audiosr
        import numpy as np
        import soundfile as sf
        wave = audiosr.super_resolution(model, request["input"], seed=int(request.get("seed", 0)),
                                        guidance_scale=float(request.get("guidance", 3.5)),
                                        ddim_steps=int(request.get("steps", 50)))
        sf.write(request["output"], np.asarray(wave, dtype=np.float32).reshape(-1), 48000, subtype="FLOAT")
        reply(ok=True)
    except Exception as error:
        reply(ok=False, kind="error", message=f"{type(error).__name__}: {error}", trace=traceback.format_exc(limit=3))


def main():
    model = None
    for line in sys.stdin:
        request = json.loads(line)
        cmd = request.get("cmd")
        if cmd == "quit":
            return
        if cmd == "load":
            model = load(request) or model
        elif cmd == "run":
            run(model, request)
        else:
            reply(ok=False, kind="error", message=f"unknown command {cmd!r}")


if __name__ == "__main__":
    main()
