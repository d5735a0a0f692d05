"""The stage registry is the one list: every entry has the module its DAG task calls, with the functions
its kind of stage needs, and a reviewed stage has its Review page template; what it names is what the DAG,
the review and the credentials use."""

from __future__ import annotations

import pytest

from pipelines.paths import REPO
from pipelines.stages import registry
from pipelines.stages.registry import STAGES, UnknownStage

TEMPLATES = REPO / "plugins" / "nicheflow_airflow" / "templates"


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.task_id)
def test_every_stage_has_its_module_and_what_its_kind_needs(stage):
    module = stage.module
    assert module.__name__ == f"pipelines.stages.{stage.task_id}"
    if stage.checkpoint:
        assert callable(module.produce) and callable(module.view)
        assert (TEMPLATES / stage.template).is_file(), f"{stage.task_id} has no {stage.template}"
        assert callable(getattr(module, "apply_edits", None)) == bool(stage.edits)
    else:
        assert callable(module.run) and stage.template is None and not stage.edits


def test_the_edits_a_stage_takes_are_ones_the_review_form_reads():
    import sys

    sys.path.insert(0, str(REPO / "plugins"))
    from nicheflow_airflow.credentials import SLOTS
    from nicheflow_airflow.review_forms import READERS

    assert {kind for s in STAGES for kind in s.edits} <= set(READERS)
    assert {slot for s in STAGES for slot in s.keys} <= set(SLOTS)


def test_the_reviewed_stages_in_production_order():
    assert registry.CHECKPOINTS == ("script", "audio", "broll", "final")
    assert [s.task_id for s in registry.of_dag("shorts")] == ["shorts"]
    with pytest.raises(UnknownStage, match="unknown stage 'music'; stages are start, knowledge, script"):
        registry.get("music")
