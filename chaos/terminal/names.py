"""Names as the terminal views show them, short enough for 80 columns."""

from __future__ import annotations


def short_name(node: str) -> str:
    """A node's host name without its domain (ip-10-0-3-7.ec2.internal: ip-10-0-3-7), to fit 80 columns."""
    return node.split(".", 1)[0]
