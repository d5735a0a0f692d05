"""The error root: every project error is a NicheflowError on one of two branches, permanent (retrying
cannot help) or transient (worth retrying), and keeps the built-in base its callers catch. The providers'
own failures are checked against their fake servers in test_llm_groq, test_research_online and
test_tts_azure; here, a topic the channel knows nothing about, on real PostgreSQL."""

from __future__ import annotations

import pytest

from knowledge import store
from knowledge.sources import SourceError
from pipelines import production
from pipelines.checkpoints import AlreadyDecided, CheckpointError, CheckpointNotFound
from pipelines.config import ConfigError
from pipelines.db import connect
from pipelines.errors import NicheflowError, NoFacts, PermanentError, TransientError, is_permanent
from pipelines.media.asr import ModelUnavailable
from pipelines.media.audio_finish import SilentAudio
from pipelines.media.ffmpeg import FFmpegError
from pipelines.providers.http import ProviderError, ProviderRejected, ProviderUnavailable
from pipelines.providers.publish.outbox import OutboxConflict
from pipelines.providers.tts.azure import AzureKeyRejected, AzureMisconfigured
from pipelines.providers.tts.base import TTSNotInstalled, TTSServiceDown, TTSUnavailable
from pipelines.providers.writer.groq import (
    LLMAuthError,
    LLMError,
    LLMOutputError,
    LLMRequestRejected,
    LLMUnavailable,
)
from pipelines.stages.script import write_script

# (class, its branch, the built-in base existing `except` clauses rely on)
BRANCHES = [
    (ConfigError, PermanentError, ValueError),
    (SourceError, PermanentError, ValueError),
    (CheckpointError, PermanentError, ValueError),
    (CheckpointNotFound, PermanentError, ValueError),
    (AlreadyDecided, PermanentError, ValueError),
    (NoFacts, PermanentError, ValueError),
    (SilentAudio, PermanentError, ValueError),
    (AzureMisconfigured, PermanentError, ValueError),
    (AzureKeyRejected, PermanentError, ValueError),
    (FFmpegError, PermanentError, RuntimeError),
    (ModelUnavailable, PermanentError, RuntimeError),
    (OutboxConflict, PermanentError, RuntimeError),
    (ProviderRejected, PermanentError, ProviderError),
    (ProviderUnavailable, TransientError, ProviderError),
    (LLMAuthError, PermanentError, LLMError),
    (LLMRequestRejected, PermanentError, LLMError),
    (LLMOutputError, PermanentError, LLMError),
    (LLMUnavailable, TransientError, LLMError),
    (TTSNotInstalled, PermanentError, TTSUnavailable),
    (TTSServiceDown, TransientError, TTSUnavailable),
]


@pytest.mark.parametrize(("cls", "branch", "base"), BRANCHES, ids=[c.__name__ for c, _, _ in BRANCHES])
def test_every_project_error_is_on_one_branch_and_keeps_its_base(cls, branch, base):
    other = TransientError if branch is PermanentError else PermanentError
    assert issubclass(cls, branch) and not issubclass(cls, other)
    assert issubclass(cls, NicheflowError) and issubclass(cls, base)


@pytest.mark.parametrize("base", [ProviderError, LLMError, TTSUnavailable])
def test_the_per_module_bases_are_catchable_in_one_clause_but_on_no_branch(base):
    assert issubclass(base, NicheflowError)
    assert not issubclass(base, PermanentError | TransientError)


def test_is_permanent_follows_an_explicit_cause():
    assert is_permanent(ConfigError("niche_configs/x.yaml: voice.rate_wpm: at most 300"))
    assert not is_permanent(ProviderUnavailable("wikipedia", 503, "gave up after 4 attempts"))
    assert not is_permanent(KeyError("a bug"))  # not ours: retried, like a transient error

    def wrapped(inner: BaseException, outer: type[BaseException]) -> BaseException:
        try:
            try:
                raise inner
            except type(inner) as e:
                raise outer("wrapped") from e
        except outer as e:
            return e

    assert is_permanent(wrapped(ConfigError("bad field"), ValueError))
    assert not is_permanent(wrapped(ProviderUnavailable("pexels", None, "timed out"), RuntimeError))
    # an error raised *while handling* a permanent one (no `from`) is judged on its own
    try:
        try:
            raise ConfigError("bad field")
        except ConfigError:
            raise TimeoutError("then the disk stalled") from None
    except TimeoutError as e:
        assert not is_permanent(e)


def test_a_topic_the_channel_knows_nothing_about_is_permanent(database, data_dir, configs):
    topic = "Competitive xylophone tuning in Antarctica"
    with connect() as conn:
        store.open_channel(conn, "science_en")
        p = production.create(conn, "science_en", topic, "manual__no_facts")
        with pytest.raises(NoFacts) as e:
            write_script(conn, p, 1, None)
    assert isinstance(e.value, PermanentError) and isinstance(e.value, ValueError) and is_permanent(e.value)
    message = str(e.value)
    assert f"channel science_en knows nothing about {topic!r}" in message
    assert "add a source document to" in message and "or choose another topic" in message
    assert not list(p.workspace.rglob("script.json"))  # nothing half-written for the next try
