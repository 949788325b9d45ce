"""One row of interventions.parquet: a role's decision, who made it and what it cost.

The Parquet schema (sim/runs/store.py), the graph's record node, the replay
decider's lookup and the replay comparison all come from this one record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Annotated, Any, get_type_hints

# The Arrow type of each column, by name of its pyarrow factory (pa.int32(), pa.string(), ...).
Int32 = Annotated[int, "int32"]
Int64 = Annotated[int, "int64"]
Float64 = Annotated[float, "float64"]
Bool = Annotated[bool, "bool_"]
String = Annotated[str, "string"]


@dataclass(frozen=True, slots=True)
class Intervention:
    day: Int32
    role: String
    community: String  # the community's name
    decider: String  # policy, openai, local or replay
    model: String
    prompt_hash: String  # "" unless a language model was asked
    choice: Int32  # the chosen candidate's policy rank (0 = the policy's own first choice)
    decision: String  # the decision as JSON with sorted keys
    text: String  # the member-facing message
    input_tokens: Int64
    output_tokens: Int64
    latency_s: Float64
    cache_hit: Bool
    fallback: Bool  # the policy's first candidate was used instead of the decider's answer
    reason: String  # why it fell back ("" otherwise)
    trigger: String  # "cadence", or why the role acted early
    # What a language model was shown: the candidates' policy ranks in the (seeded, shuffled) order it saw
    # them, space-separated ("" when no model was asked), and the position it picked (-1: none). With
    # `choice` this tells "agreed with the policy" (choice 0 wherever it was shown) from "took whatever
    # came first" (shown_position 0 whatever it was). Runs recorded before these columns read as ""/-1.
    shown_order: String = ""
    shown_position: Int32 = -1

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Intervention:
        """A recorded row (from interventions.parquet) back as a record."""
        return cls(**{f.name: row.get(f.name, f.default) for f in fields(cls)})

    def row(self) -> dict[str, Any]:
        return asdict(self)

    def key(self) -> tuple[str, str, int]:
        """What a replay looks a recorded decision up by."""
        return self.role, self.community, self.day


# A replay must reproduce these columns exactly (the others are timings, token counts and the decider's name).
REPLAYED = ("day", "role", "community", "choice", "decision", "text", "shown_order", "shown_position")
_DEFAULTS = {f.name: f.default for f in fields(Intervention)}


def replayed(row: Mapping[Any, Any]) -> tuple[Any, ...]:
    """The replayed columns of a row (a run recorded before a column existed gives its default)."""
    return tuple(row.get(c, _DEFAULTS[c]) for c in REPLAYED)


def arrow_columns() -> list[tuple[str, str]]:
    """(column, pyarrow type factory name), in the table's order."""
    hints = get_type_hints(Intervention, include_extras=True)
    return [(f.name, hints[f.name].__metadata__[0]) for f in fields(Intervention)]
