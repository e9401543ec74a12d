"""The beam-search cache against Hugging Face's own cache: the same batches, timed both ways.

Loads the model once, then for each task runs the first N real validation samples in length-sorted
batches through ``HFBackend.generate`` with :class:`BeamSearchCache` and again with it switched off
(the prompt cache repeated per beam into ``DynamicCache``). Prints seconds of each and whether the
outputs are identical.

    .venv/bin/python benchmarks/bench_beam_cache.py --tasks NC-S2F:10,PP-BBBP:16,FS:8 --samples 16
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from records import RunRecord, add_record_option

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "smolinstruct" / "val"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="NC-S2F:10,PP-BBBP:16,FS:8", help="TASK:BATCH_SIZE, comma-separated")
    parser.add_argument("--samples", type=int, default=16, help="samples per task")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--threads", type=int, default=1)
    add_record_option(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    run_record = RunRecord("bench_beam_cache", enabled=args.record)
    import torch

    torch.set_num_threads(args.threads)
    from llasmol.generate import load_backend
    from llasmol.generate.backends.beam_cache import BeamSearchCache
    from llasmol.generate.runner import load_samples, tokenize_prompts
    from llasmol.models import resolve_model
    from llasmol.tasks import get_task

    backend = load_backend("hf", resolve_model(None), None, None, None)
    supports = BeamSearchCache.supports
    figures = {}
    for item in args.tasks.split(","):
        name, batch_size = item.split(":")
        task = get_task(name)
        samples = load_samples(args.data, "validation", task, args.samples)
        prompts = sorted(tokenize_prompts(samples, backend.tokenizer, "paper"), key=len)
        settings = dataclasses.replace(task.generation,
                                       max_new_tokens=min(task.generation.max_new_tokens, args.max_new_tokens))
        outputs, seconds = {}, {}
        for label, check in (("beam_search_cache", supports), ("hugging_face_cache", lambda cache: False)):
            BeamSearchCache.supports = staticmethod(check)
            started = time.perf_counter()
            outputs[label] = [output for start in range(0, len(prompts), int(batch_size))
                              for output in backend.generate(prompts[start:start + int(batch_size)], settings)]
            seconds[label] = round(time.perf_counter() - started, 1)
        BeamSearchCache.supports = staticmethod(supports)
        figures[task.name] = {"batch_size": int(batch_size), "settings": dataclasses.asdict(settings),
                              "seconds": seconds,
                              "identical_outputs": outputs["beam_search_cache"] == outputs["hugging_face_cache"]}
    print(json.dumps(figures, indent=2))
    run_record.write(figures)


if __name__ == "__main__":
    main()
