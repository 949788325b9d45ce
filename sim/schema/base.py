"""The strict base model and the field types that scenario, role and sweep files share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    """Base for every file block: unknown keys are errors, not silently ignored; values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Days = Annotated[int, Field(ge=1, le=365)]
