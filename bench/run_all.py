"""Every benchmark on one broker + registry, one run each: ``make bench``.

Run: ``uv run python -m bench.run_all [--sizes 1 100 1000] [--commands 400]``.
Results land in ``bench/results/*.json``; BENCHMARKS.md quotes them.
"""

from __future__ import annotations

import argparse
import json

from bench import allocate_table, codec_bench, e2e_bench, measure_throughput_bench
from bench.broker import running_platform
from bench.machine import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--commands", type=int, default=400)
    parser.add_argument("--timeout", type=float, default=900.0, help="per Kafka run, seconds")
    args = parser.parse_args()
    print("machine:", json.dumps(machine()))
    print("\n## Allocate (bench/allocate_bench.py)")
    allocate_table.benchmark()
    print("\n## Codec")
    with running_platform() as platform:
        codec_bench.benchmark(platform)
        print("\n## Measure throughput")
        measure_throughput_bench.benchmark(platform, args.commands, args.timeout)
        print("\n## End to end")
        e2e_bench.benchmark(platform, args.sizes, args.timeout)
    print("\nmachine at the end:", json.dumps(machine()))


if __name__ == "__main__":
    main()
