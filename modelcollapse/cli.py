"""Command-line interface (placeholder until the subcommands land)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("modelcollapse: subcommands are being built", file=sys.stderr)
    return 0
