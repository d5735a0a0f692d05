"""The Review page's decision form -> (decision, notes, edits) for pipelines.review.decide.

Edits are what the reviewer changed, found by comparing the submitted fields with the checkpoint's view on
the server (so nothing depends on JavaScript): only changed sentences, swapped visuals and changed final
fields are sent. Field names:

    sentence.<segment>.<sentence>   script: the sentence's text
    choice.<segment>                broll: the chosen option index
    thumbnail, title, description, tags (comma-separated)   final
    action   approve | approve_edits | changes_requested | rejected
    notes, checkpoint_id, revision
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from pipelines.stages import registry

ACTIONS = ("approve", "approve_edits", "changes_requested", "rejected")


class FormError(ValueError):
    pass


def _words(text: str) -> str:
    return " ".join(str(text).split())


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FormError(f"{field}: {value!r} is not a number") from None


def _sentences(view: dict, form: Mapping[str, str]) -> dict | None:
    changed = {}
    for seg in view["segments"]:
        for s in seg["sentences"]:
            key = f"{seg['index']}.{s['index']}"
            new = form.get(f"sentence.{key}")
            if new is not None and _words(new) != _words(s["text"]):
                changed[key] = _words(new)
    return changed or None


def _choices(view: dict, form: Mapping[str, str]) -> dict | None:
    choices = {}
    for seg in view["segments"]:
        new = form.get(f"choice.{seg['index']}")
        if new is not None and _int(new, f"choice.{seg['index']}") != seg["chosen"]:
            choices[str(seg["index"])] = int(new)
    return choices or None


def _thumbnail(view: dict, form: Mapping[str, str]) -> int | None:
    t = form.get("thumbnail")
    return int(t) if t is not None and _int(t, "thumbnail") != view.get("thumbnail", 0) else None


def _title(view: dict, form: Mapping[str, str]) -> str | None:
    t = form.get("title")
    return _words(t) if t is not None and _words(t) != _words(view.get("title") or "") else None


def _description(view: dict, form: Mapping[str, str]) -> str | None:
    t = form.get("description")
    if t is None:
        return None
    text = t.replace("\r\n", "\n").strip()
    return text if text != (view.get("description") or "").replace("\r\n", "\n").strip() else None


def _tags(view: dict, form: Mapping[str, str]) -> list[str] | None:
    t = form.get("tags")
    tags = [x.strip() for x in t.split(",") if x.strip()] if t is not None else None
    return tags if tags is not None and tags != list(view.get("tags") or []) else None


READERS: dict[str, Callable[[dict, Mapping[str, str]], object]] = {
    "sentences": _sentences,
    "choices": _choices,
    "thumbnail": _thumbnail,
    "title": _title,
    "description": _description,
    "tags": _tags,
}
"""Per edit kind of the stage registry: its value from the form, or None when the reviewer left it as shown."""


def edits_from_form(stage: str, view: dict, form: Mapping[str, str]) -> dict:
    """The edits the form makes, among those the stage takes (the registry's `edits`)."""
    edits = {}
    for kind in registry.get(stage).edits:
        value = READERS[kind](view, form)
        if value is not None:
            edits[kind] = value
    return edits


def count_edits(edits: dict) -> int:
    return sum(len(v) if isinstance(v, dict) else 1 for v in edits.values())


def decision_from_form(
    stage: str, view: dict, form: Mapping[str, str]
) -> tuple[str, str | None, dict | None]:
    action = form.get("action", "")
    if action not in ACTIONS:
        raise FormError(f"unknown action {action!r}; use one of the buttons")
    notes = (form.get("notes") or "").strip() or None
    edits = edits_from_form(stage, view, form)
    if action == "approve":
        if edits:
            raise FormError(
                f"you changed {count_edits(edits)} field(s): press “Approve with edits” to keep "
                "them, or reload the page to discard them"
            )
        return "approved", notes, None
    if action == "approve_edits":
        return "approved", notes, edits or None
    return action, notes, None  # the stage redoes its work from the notes; field edits don't apply
