"""Shared by the scripts that write figures into the docs from fresh runs (readme_runs.py,
recsys_docs.py, pruning_docs.py): a generated block between two marker lines, and number
formats."""
import re
import sys


def replace_block(text, begin, end, lines, path):
    """`text` with the lines between the `begin` and `end` markers replaced by `lines`; exits
    naming `path` when the markers are missing."""
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(text):
        sys.exit(f"{path}: no {begin} ... {end} block")
    return pattern.sub(lambda _: begin + "\n" + "\n".join(lines) + "\n" + end, text, count=1)


def grouped(value):
    """An integer with thin-space thousands groups, as the README writes them: 46 463."""
    return f"{int(round(value)):,}".replace(",", " ")
