"""Reading Pulumi.<stack>.yaml offline, as the Pulumi CLI hands it to the program.

The CLI (sdk/go/common/resource/config/value.go, unmarshalValue) first decodes
each config value into a Go string, and go-yaml then keeps a scalar's source
text: an unquoted `1.30` reaches the program as "1.30", an unquoted date as the
date's text. Lists and objects go as JSON. The offline tools (plan, identity)
read the file the same way, so that they see what `pulumi up` would see; a file
that is not YAML, or not a mapping with a `config:` mapping, is one StackFileError
naming the file, the line and the column.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from stacks.config_reader import SettingsError

_NULL = "tag:yaml.org,2002:null"


class StackFileError(SettingsError):
    """A stack file the CLI would not read: `Pulumi.dev.yaml:3:8: <problem>`."""

    def __init__(self, path: Path, problem: str, line: int | None = None, column: int | None = None):
        where = shown(path) + (f":{line}:{column}" if line is not None else "")
        super().__init__([f"{where}: {problem}"])

    def __str__(self) -> str:
        return self.problems[0]


class _CliLoader(yaml.SafeLoader):
    """Nested values as go-yaml gives them to the CLI: a timestamp stays its text."""


_CliLoader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


def shown(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    try:
        return os.path.relpath(path) if Path(path).resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def read_config(path: Path) -> dict[str, Any]:
    """The file's `config:`, keys as written (`lab:owner`), values as the CLI passes them."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise StackFileError(path, f"not UTF-8 text (byte {err.start})") from None
    try:
        loader = _CliLoader(text)
    except yaml.reader.ReaderError as err:
        line = text[:err.position].count("\n") + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise StackFileError(path, f"character {err.character:#06x} is not allowed in YAML", line, column) from None
    try:
        return _values(path, loader, _config_node(path, loader.get_single_node()))
    except yaml.MarkedYAMLError as err:
        raise _syntax_error(path, err) from None
    finally:
        loader.dispose()


def _syntax_error(path: Path, err: yaml.MarkedYAMLError) -> StackFileError:
    mark = err.problem_mark or err.context_mark
    problem = err.problem or err.context or "not valid YAML"
    if err.context and err.problem and err.context_mark is not None:
        problem += f" ({err.context} from line {err.context_mark.line + 1})"
    if "'\\t'" in problem:
        problem += "; YAML indents with spaces, not tabs"
    return StackFileError(path, problem, mark.line + 1 if mark else None, mark.column + 1 if mark else None)


def _at(path: Path, node: yaml.Node, problem: str) -> StackFileError:
    return StackFileError(path, problem, node.start_mark.line + 1, node.start_mark.column + 1)


def _config_node(path: Path, root: yaml.Node | None) -> yaml.MappingNode | None:
    if root is None:
        return None
    if not isinstance(root, yaml.MappingNode):
        raise _at(path, root, "expected a mapping with a config: section, such as 'config:' then "
                              "'  lab:owner: me' on the next line")
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "config":
            if isinstance(value, yaml.ScalarNode) and value.tag == _NULL:
                return None
            if not isinstance(value, yaml.MappingNode):
                raise _at(path, value, "config: expected a mapping of keys such as lab:owner to their values")
            return value
    return None


def _values(path: Path, loader: yaml.SafeLoader, config: yaml.MappingNode | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, node in config.value if config is not None else ():
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        # pulumi's config.ParseKey: exactly <namespace>:<name>
        if not key or key.count(":") != 1 or key.startswith(":") or key.endswith(":"):
            raise _at(path, key_node, f"config key {key!r}: expected <namespace>:<name>, such as lab:owner")
        line = key_node.start_mark.line + 1
        if key in lines:
            raise _at(path, key_node, f"{key} is set twice (lines {lines[key]} and {line}); keep one")
        lines[key] = line
        if isinstance(node, yaml.ScalarNode):
            values[key] = "" if node.tag == _NULL else node.value
        else:
            values[key] = loader.construct_object(node, deep=True)
    return values
