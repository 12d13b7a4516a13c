"""Reading YAML a user wrote (experiments, profiles, simulator configs, manifests) so that no file
can crash or hang the reader: at most MAX_BYTES read (a FIFO or /dev/zero is cut off, not read
forever), UTF-8 required, duplicate keys refused (YAML says they are an error; PyYAML silently keeps
the last), aliases bounded (a "billion laughs" file expands to more nodes than any real file has)
and nesting bounded.  Every problem is a YamlProblem with the line where it applies."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000  # scalars, mappings and sequences once aliases are expanded
MAX_DEPTH = 50


class YamlProblem(ValueError):
    """One line: what is wrong and where (the file name is the caller's)."""


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


def not_a_regular_file(path: Path) -> str | None:
    """Why `path` must not be opened as a user's file, looked up before opening it (opening a FIFO
    for reading blocks until some writer comes, which may be never), or None."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None  # missing or unreadable: opening it says why
    for test, what in _KINDS:
        if test(mode):
            return f"is {what}, not a regular file; give a file"
    return None


def read_limited(path: Path, limit: int = MAX_BYTES) -> str:
    problem = not_a_regular_file(path)
    if problem is not None:
        raise YamlProblem(problem)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except IsADirectoryError:
        raise YamlProblem("is a directory, not a file") from None
    except OSError as exc:
        raise YamlProblem(f"cannot read it: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise YamlProblem(f"is larger than {limit // (1024 * 1024)} MiB; is it the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblem(f"is not UTF-8 text (byte {data[exc.start]:#04x} at line {line})") from None


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            try:
                key = self.construct_object(key_node, deep=True)
                hash(key)
            except TypeError:
                raise YamlProblem(f"a mapping key at line {key_node.start_mark.line + 1} is not a plain value") from None
            if key in seen:
                raise YamlProblem(f"key '{str(key)[:60]}' appears twice (lines {seen[key]} and {key_node.start_mark.line + 1}); keep one")
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, depth: int, memo: dict[int, int]) -> int:
    """Nodes `node` stands for once every alias is expanded, stopping at the limits."""
    if depth > MAX_DEPTH:
        raise YamlProblem(f"nests deeper than {MAX_DEPTH} levels (line {node.start_mark.line + 1})")
    if id(node) in memo:
        size = memo[id(node)]
    elif isinstance(node, yaml.ScalarNode):
        size = 1
    else:
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else list(node.value)
        size = 1 + sum(_expanded_size(c, depth + 1, memo) for c in children)
        memo[id(node)] = size
    if size > MAX_NODES:
        raise YamlProblem(f"expands to more than {MAX_NODES:,} values through its aliases (line {node.start_mark.line + 1}); write it out plainly")
    return size


def parse_yaml(text: str) -> Any:
    """One YAML document, checked as the module says; YamlProblem with the line otherwise."""
    try:
        node = yaml.compose(text, Loader=_StrictLoader)
        if node is None:
            return None
        _expanded_size(node, 0, {})
        loader = _StrictLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise YamlProblem(f"not valid YAML: {exc.problem}{where}") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {str(exc).splitlines()[0][:200]}") from None
    except RecursionError:
        raise YamlProblem(f"nests deeper than {MAX_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:  # a plain value YAML reads as a date that does not exist (2024-13-45)
        raise YamlProblem(f"not valid YAML: a value reads as an impossible date or number ({str(exc)[:100]}); quote it") from None


def load_file(path: Path) -> Any:
    return parse_yaml(read_limited(path))
