"""``python -m bench [NAME ...]``: run the benchmarks, print a report, write ``build/bench/results.json``.

Runs every benchmark module that exists (``bench.intake``, ``bench.load``,
``bench.outcomes``, ``bench.scans``, ``bench.build``), or only the ones named (``fuzz`` is run by name:
``make fuzz``). Figures are ratios against baselines measured in the same
run, so they compare across machines better than raw times.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "build" / "bench" / "results.json"
BENCHMARKS = ("intake", "load", "outcomes", "scans", "build", "report")  # `python -m bench fuzz` (make fuzz) runs on its own


def _load(name: str):
    module_name = f"bench.{name}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)} that exist)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)

    names = args.names or list(BENCHMARKS)
    results: dict[str, object] = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    failed = False
    for name in names:
        module = _load(name)
        if module is None:
            if args.names:
                print(f"bench: no benchmark called {name!r}", file=sys.stderr)
                failed = True
            else:
                print(f"== {name}: not present, skipped\n", flush=True)
            continue
        run = getattr(module, "run", None) or getattr(module, "main", None)
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            result = run()
        except Exception:  # one broken benchmark does not hide the others' figures
            traceback.print_exc()
            results[name] = {"error": traceback.format_exc(limit=3)}
            failed = True
            continue
        results[name] = result
        report = getattr(module, "report", None)
        print(report(result) if report and isinstance(result, dict) else json.dumps(result, indent=2, default=str))
        print(f"   ({time.perf_counter() - started:.0f} s)\n", flush=True)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results written to {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
