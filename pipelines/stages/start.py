"""Task `start`: the production of a DAG run, for the topic a person gave or the channel's next backlog
topic. A topic is made plain text first (it can come from Airflow's REST API with markup in it). Refuses a
topic the channel already covered (or one too close to it) unless asked to make it anyway."""

from __future__ import annotations

import logging

from knowledge import topics
from pipelines import logfields, metadata, production
from pipelines.config import get_config
from pipelines.errors import PermanentError
from pipelines.production import channel_db

log = logging.getLogger(__name__)


class BacklogEmpty(PermanentError, ValueError):
    """Every backlog topic is covered or in production: add topics, or trigger with one."""


class RepeatedTopic(PermanentError, ValueError):
    """The channel already covered this topic (or one too close to it)."""


class BadTopic(PermanentError, ValueError):
    """The topic given cannot be used as it is; the message says what to change."""


class EmptyTopic(BadTopic):
    """The topic given is nothing but markup (HTML or subtitle tags, < and >) once made plain text."""


def next_topic(channel: str) -> str:
    """The first backlog topic that is neither covered (or too close to a covered one) nor in production."""
    cfg = get_config(channel)
    with channel_db(channel) as conn:
        running = {
            r["topic"].casefold()
            for r in conn.execute(
                "SELECT topic FROM productions WHERE channel = %s AND status IN ('running', 'stalled')",
                (channel,),
            )
        }
        for topic in cfg.topics:
            if topic.casefold() not in running and not topics.similar_covered(
                conn, channel, cfg.text_search_config, topic
            ):
                return topic
    raise BacklogEmpty(
        f"channel {channel}: every backlog topic is covered or in production; add topics to "
        f"niche_configs/{channel}.yaml, see `nicheflow topics suggest {channel}`, or trigger the DAG "
        "with a topic"
    )


def run(
    channel: str,
    topic: str | None,
    dag_run_id: str,
    target_seconds: int | None = None,
    allow_similar: bool = False,
) -> int:
    """The production id of this DAG run (the same one when the task is retried). The topic is stored as
    plain text (metadata.clean): its markup never reaches the script, the narration or the title."""
    given = (topic or "").strip()
    topic = metadata.clean(given)
    if given and not metadata.has_words(topic):
        raise EmptyTopic(
            f"channel {channel}: the topic {given[:200]!r} has no words once its markup (HTML tags, subtitle "
            "override tags such as {\\an8}, < and >) is removed. Trigger with the topic as plain words, or "
            "with no topic to take the channel's next backlog topic"
        )
    if len(topic) > metadata.TOPIC_MAX:
        raise BadTopic(
            f"channel {channel}: the topic is {len(topic):,} characters long ({topic[:60]!r}...); a topic is "
            f"at most {metadata.TOPIC_MAX}, as it becomes the video's title and its first spoken sentence. "
            "Trigger with the subject alone, in a few words"
        )
    if topic and not allow_similar:
        with channel_db(channel) as conn:
            lang = get_config(channel).text_search_config
            close = topics.similar_covered(conn, channel, lang, topic)
        if close:
            c = close[0]
            raise RepeatedTopic(
                f"channel {channel} already covered {c.topic!r} (production {c.production_id}, "
                f"{c.covered_at:%Y-%m-%d}; similarity {c.similarity:.2f}). Choose another topic, "
                "or trigger with allow_similar=true to make it anyway"
            )
    topic = topic or next_topic(channel)
    with channel_db(channel) as conn:
        p = production.create(conn, channel, topic, dag_run_id, target_seconds)
    logfields.bind(channel=channel, production_id=p.id, stage="start")
    if removed := metadata.removed_by_clean(given):
        log.warning(
            "the topic was made plain text before use (removed %s: YouTube refuses < and >, and the "
            "narration would read markup out): %r -> %r",
            ", ".join(removed),
            given[:300],
            topic,
        )
    log.info(
        "production %s for channel %s: %r in %s",
        p.id,
        channel,
        topic,
        p.files.store.where(p.key) if p.files else p.workspace,
    )
    return p.id
