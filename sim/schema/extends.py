"""Variants without copying: a scenario file may say `extends: <base>` and give only what differs.

`<base>` is a shipped scenario's name (`extends: community`) or a path relative to the file that says it
(`extends: ../base.yaml`; absolute paths are refused, so a file names its base the same way on every machine).
The base may extend another, up to `MAX_DEPTH` files; a cycle is an error naming the chain.

The merge rule (docs/scenarios.md, "extends"): mappings merge key by key, recursively; anything else the
variant gives (a number, a text, a list such as `topics` or `communities`, or `null`) replaces the base's
value whole. `null` therefore switches a block off (`tutoring: null`). The merged result is validated as one
scenario, so the trust model (roles/trust.py) and every limit apply to it as to any file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

MAX_DEPTH = 8
"""The most files one chain of `extends` may hold, the variant included."""

Layer = tuple[str, yaml.Node | None]  # (source, the YAML node tree): for file:line in errors


def merge(base: Any, variant: Any) -> Any:
    """The variant over the base: mappings key by key, recursively; anything else replaces. Iterative (no
    recursion on user structures), and the inputs are left unchanged."""
    if not (isinstance(base, dict) and isinstance(variant, dict)):
        return variant
    out = dict(base)
    stack = [(out, variant)]
    while stack:
        target, over = stack.pop()
        for key, value in over.items():
            old = target.get(key)
            if isinstance(old, dict) and isinstance(value, dict):
                target[key] = dict(old)
                stack.append((target[key], value))
            else:
                target[key] = value
    return out


def extends_line(root: yaml.Node | None) -> int | None:
    """The line of the `extends:` key in a file's node tree."""
    if isinstance(root, yaml.MappingNode):
        for k, _ in root.value:
            if getattr(k, "value", None) == "extends":
                return int(k.start_mark.line) + 1
    return None


def is_file(path: Path) -> bool:
    """Path.is_file() for a path a file names: False, not an exception, for a name too long for the file system
    (OSError ENAMETOOLONG, which Path.is_file() raises) or one holding a NUL."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def resolve_base(spec: object, source: str, root: yaml.Node | None, folder: Path, shipped: dict[str, Path]) -> Path:
    """The file `extends: spec` names, from the file `source` in `folder`; a clear error otherwise."""
    line = extends_line(root)
    where = f"{source}:{line}" if line else source
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(
            f"{where}: extends: expected the name of a shipped scenario or a path relative to this file (got {spec!r})"
        )
    path = Path(spec)
    if path.is_absolute():
        raise ValueError(f"{where}: extends: {spec}: give a path relative to this file, not an absolute path")
    candidate = folder / path
    if is_file(candidate):
        return candidate
    if path.suffix == "" and not path.parent.parts and spec in shipped:
        return shipped[spec]
    raise ValueError(
        f"{where}: extends: {spec}: no such file ({candidate}) and no shipped scenario of that name; "
        f"shipped: {', '.join(sorted(shipped))}"
    )


def resolve_extends(
    data: dict[str, Any],
    source: str,
    root: yaml.Node | None,
    folder: Path,
    read: Callable[[Path], tuple[yaml.Node | None, Any]],
    shipped: dict[str, Path],
    here: Path | None = None,
) -> tuple[dict[str, Any], list[Layer]]:
    """The data with every base merged under it, and the files' layers, the variant first.

    `read(path)` gives a file's (node tree, data) with the reader's own limits; `here` is the variant's own
    file (None for text from elsewhere), so a file extending itself is a cycle too. Raises ValueError with a
    message naming the file and line."""
    chain: list[tuple[dict[str, Any], Layer]] = [(data, (source, root))]
    seen = [here.resolve()] if here is not None else []
    names = [source]
    current, cur_source, cur_root, cur_folder = data, source, root, folder
    while "extends" in current:
        path = resolve_base(current["extends"], cur_source, cur_root, cur_folder, shipped)
        real = path.resolve()
        if real in seen:
            raise ValueError(
                f"{cur_source}:{extends_line(cur_root) or 1}: extends: a cycle: " + " -> ".join([*names, str(path)])
            )
        if len(chain) >= MAX_DEPTH:
            raise ValueError(
                f"{cur_source}:{extends_line(cur_root) or 1}: extends: more than {MAX_DEPTH} files in one chain "
                f"({' -> '.join([*names, str(path)])})"
            )
        seen.append(real)
        names.append(str(path))
        base_root, base = read(path)
        if not isinstance(base, dict):
            raise ValueError(f"{path}: a base scenario (extends) must be a mapping of fields")
        chain.append((base, (str(path), base_root)))
        current, cur_source, cur_root, cur_folder = base, str(path), base_root, path.parent
    merged: dict[str, Any] = {}
    for part, _ in reversed(chain):
        merged = merge(merged, {k: v for k, v in part.items() if k != "extends"})
    return merged, [layer for _, layer in chain]
