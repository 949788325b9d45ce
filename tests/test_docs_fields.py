"""docs/scenarios.md is the full field reference: every scenario field, role field and llm field is in it."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from learncomm.sim.schema.roles import LLM, Prices, Roles
from learncomm.sim.schema.scenario import Scenario

DOC = (Path(__file__).parent.parent / "docs" / "scenarios.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = DOC.index(f"\n## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end]


def fields(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def documented(text: str) -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)`", text, flags=re.M)) | set(
        re.findall(r"^\|[^|]*\| `([a-z_]+)`", text, flags=re.M)
    )


def test_every_top_level_field_and_extends_has_a_row() -> None:
    assert fields(Scenario) | {"extends"} <= documented(section("Top level"))


def test_every_role_field_has_a_row() -> None:
    text = section("roles")
    for name, info in Roles.model_fields.items():
        config = next(a for a in info.annotation.__args__ if isinstance(a, type) and issubclass(a, BaseModel))  # type: ignore[union-attr]
        assert f"| `{name}` |" in text, name
        missing = fields(config) - documented(text)
        assert not missing, (name, missing)


def test_every_llm_field_has_a_row() -> None:
    text = section("llm")
    names = fields(LLM) - {"prices"} | {f"prices.{p}" for p in fields(Prices)}
    for n in names:
        assert f"`{n}`" in text, n
