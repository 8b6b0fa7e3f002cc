"""Entry point: python scripts/moto_sim --host 127.0.0.1 --port 5000 [--step-ms 1000] [--minute-ms 60000]"""

import argparse
import os
import sys

if __package__ in (None, ""):
    # Run as `python scripts/moto_sim`: make the folder importable as the package it is.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import moto_sim  # noqa: E402
from moto import server  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=moto_sim.__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--step-ms", type=int, default=1000, help="default time per rollout step (tag sim:step-ms)")
    parser.add_argument(
        "--minute-ms", type=int, default=60_000, help="real milliseconds per configured minute (tag sim:minute-ms)"
    )
    args = parser.parse_args()
    for flag, value in (("--step-ms", args.step_ms), ("--minute-ms", args.minute_ms)):
        if value < 1:
            parser.error(f"{flag} must be at least 1; got {value}")
    moto_sim.install(step_ms=args.step_ms, minute_ms=args.minute_ms)
    server.main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
