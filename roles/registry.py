"""The roles there are, by the name their block has in a scenario's `roles:` (sim/schema/roles.py).

Adding a role: its module here in roles/, its config class in sim/schema/roles.py, one entry below
(docs/roles.md, "Adding a role").
"""

from __future__ import annotations

from typing import Any

from learncomm.roles.base import RoleSpec
from learncomm.roles.benchmarker import BenchmarkerRole
from learncomm.roles.ideator import IdeatorRole
from learncomm.roles.manager import ManagerRole
from learncomm.roles.matchmaker import MatchmakerRole
from learncomm.roles.secretary import SecretaryRole
from learncomm.roles.source import SourceRole

SPECS: dict[str, type[RoleSpec[Any, Any]]] = {
    "ideator": IdeatorRole,
    "secretary": SecretaryRole,
    "benchmarker": BenchmarkerRole,
    "source": SourceRole,
    "manager": ManagerRole,
    "matchmaker": MatchmakerRole,
}
