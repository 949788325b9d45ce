"""The strict base model and the field types that scenario, role and sweep files share."""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator


def _admits_bool(tp: Any) -> bool:
    """Whether a field's type takes a boolean as such (bool or Any somewhere in it, or a nested model, which
    checks its own fields)."""
    if tp is bool or tp is Any or (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return True
    origin = get_origin(tp)
    if origin is Annotated:
        return _admits_bool(get_args(tp)[0])
    if origin in (Union, types.UnionType, list, tuple, dict, set, frozenset):
        return any(_admits_bool(a) for a in get_args(tp) if a is not Ellipsis)
    return False


def _no_bool(value: Any, depth: int = 0) -> bool:
    """Whether a value holds no boolean at its top or one level into a list or mapping."""
    if isinstance(value, bool):
        return False
    if depth == 0 and isinstance(value, list | tuple):
        return all(_no_bool(v, 1) for v in value)
    if depth == 0 and isinstance(value, dict):
        return all(_no_bool(v, 1) for v in value.values())
    return True


class Strict(BaseModel):
    """Base for every file block: unknown keys are errors, not silently ignored; values are frozen; numbers are
    finite (no .inf or .nan) and a boolean is never taken as a number (true is not 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None or _no_bool(value):
            return value
        field = cls.model_fields[info.field_name]
        if not _admits_bool(field.annotation):
            raise ValueError("expected a number, got a boolean (true/false)")
        return value


Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Days = Annotated[int, Field(ge=1, le=365)]


def _no_control(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("a file path cannot hold control characters (NUL, newline, tab, ...)")
    return value


PathText = Annotated[str, Field(max_length=500), AfterValidator(_no_control)]
"""A file path a file names (an LLM cache): a NUL in it made every later use of the path raise ValueError."""
