"""``python -m bench`` runs every benchmark with its defaults; ``python -m bench NAME [options]`` runs one.

To add a benchmark, write a module with ``DESCRIPTION``, ``add_arguments(parser)`` and
``run(args) -> dict`` (the dict has an ``ok`` key) and register it in :data:`BENCHMARKS`.
Exits with 1 if any benchmark failed or raised: a benchmark never hides errors.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Protocol

from rich.console import Console

from bench import connectors, consent, gate, goals, peer, scale, signin, wallet, write_result


class Benchmark(Protocol):
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> dict[str, Any]: ...


BENCHMARKS: dict[str, Benchmark] = {
    "signin": signin,
    "consent": consent,
    "connectors": connectors,
    "peer": peer,
    "scale": scale,
    "wallet": wallet,
    "gate": gate,
    "goals": goals,  # last: it gathers the goals table from the runs before it
}

console = Console(stderr=True, highlight=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Genba ID benchmarks (all when none named)")
    sub = parser.add_subparsers(dest="benchmark", metavar="NAME")
    for name, benchmark in BENCHMARKS.items():
        benchmark.add_arguments(sub.add_parser(name, help=benchmark.DESCRIPTION, description=benchmark.DESCRIPTION))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.benchmark is None:
        runs = [(name, parser.parse_args([name])) for name in BENCHMARKS]
    else:
        runs = [(args.benchmark, args)]
    failed: list[str] = []
    fresh: dict[str, dict[str, Any]] = {}
    for name, bench_args in runs:
        console.rule(f"[bold]{name}")
        try:
            result = goals.run(bench_args, fresh) if name == "goals" else BENCHMARKS[name].run(bench_args)
        except Exception:
            console.print_exception()
            failed.append(name)
            continue
        fresh[name] = result
        path = write_result(name, result)
        console.print(f"saved {path}")
        if not result.get("ok", False):
            failed.append(name)
    if failed:
        console.print(f"[bold red]FAILED[/]: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
