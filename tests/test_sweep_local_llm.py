"""A sweep whose roles decide with the local model: one server for the whole sweep, its URL given to every worker.

Needs the extra `learncomm[local-llm]` (CI sets LEARNCOMM_REQUIRE_LLM=1, so there a missing extra fails).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest

from learncomm.sim.sweeps.plan import load_sweep
from learncomm.sim.sweeps.runner import run_sweep

if importlib.util.find_spec("llama_cpp") is None:
    if os.environ.get("LEARNCOMM_REQUIRE_LLM"):
        raise RuntimeError("LEARNCOMM_REQUIRE_LLM is set but the local-llm extra is not installed")
    pytest.skip("the local-llm extra is not installed", allow_module_level=True)


@pytest.mark.slow
def test_local_decider_sweep_starts_one_server_for_all_runs(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        "name: llm\nlearners: 40\ndays: 8\nseed: 1\nllm: {decider: local, max_retries: 0}\nroles:\n  ideator: "
        "{cadence: 7}\n"
    )
    (tmp_path / "sweep-llm.yaml").write_text(
        "base: base.yaml\nparameters:\n  params.alpha_ask: {values: [0.1, 0.3]}\nllm_concurrency: 1\n"
    )
    out = tmp_path / "out"
    report = run_sweep(load_sweep(tmp_path / "sweep-llm.yaml"), out, workers=2)
    assert report.done == 2 and not report.failed
    frames = [pd.read_parquet(p) for p in sorted((out / "runs").glob("point=*/seed=*/interventions.parquet"))]
    rows = pd.concat(frames)
    assert len(frames) == 2 and len(rows) >= 2
    assert (rows["decider"] == "local").all() and not rows["fallback"].any(), rows[["reason"]].to_dict("records")
    log = (out / "local-server.log").read_text(errors="replace")
    assert log.count("Uvicorn running on") == 1  # one server served both runs
    assert (out / "llm-cache.sqlite").is_file() and list((out / ".llm-slots").glob("slot-*.lock"))
