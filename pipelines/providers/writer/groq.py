"""Groq script writer (the production LLM provider), through the official `groq` SDK.

One chat completion in JSON mode, validated against `script_schema.Script`, every cited id checked
against the given facts and the spoken length against the target (±10%). When any check fails, one
repair round sends the model its answer and the exact errors; a second failure raises `LLMOutputError`.
The result carries the token usage and cost of every call, and the grounding flags of the final script.

Transport errors are left to the SDK, which retries 408/409/429/5xx and connection errors `max_retries`
times: it waits what `retry-after`/`retry-after-ms` says when that is between 0 and 60 s, otherwise an
exponential backoff of 0.5 s doubling up to 8 s, with jitter. It never retries 401/403, and neither
do we: a rejected key raises `LLMAuthError` at once. The API key is never logged or put in a message.

Every failure is an `LLMError` of one of two kinds. Permanent (retrying cannot help): `LLMAuthError` (the
key), `LLMRequestRejected` (another 4xx: an unknown model, a request too large), `LLMOutputError` (the
script failed validation twice). Transient (worth retrying later): `LLMUnavailable` (timeouts, the
service unreachable, 408/409/429/5xx after the SDK's retries)."""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import groq
import jinja2
import pydantic
from groq.types.chat import ChatCompletionMessageParam
from pydantic_core import ErrorDetails

from knowledge.store import Fact
from knowledge.text import numbers
from pipelines import grounding, latency, metadata
from pipelines.errors import NicheflowError, PermanentError, TransientError
from pipelines.providers.http import is_transient_status
from pipelines.providers.writer.base import Brief, Script, WriterResult, words

log = logging.getLogger(__name__)

DEFAULT_MODEL = "llama-3.3-70b-versatile"
DEFAULT_TEMPLATE = Path(__file__).parent / "prompts" / "script.j2"
LANGUAGES = {"en": "English", "pt-BR": "Brazilian Portuguese"}
LENGTH_TOLERANCE = 0.10
TEMPERATURE = 0.3
AUTH_MESSAGE = (
    "Groq rejected the API key: set a valid key in the Airflow connection 'groq_default' "
    "(password) or GROQ_API_KEY"
)

# USD per million (input, output) tokens, on-demand tier. Prices change: check them against
# https://groq.com/pricing before relying on the cost figures. A model missing here gets cost None.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "llama-3.3-70b-versatile": (0.59, 0.79),
    "llama-3.1-8b-instant": (0.05, 0.08),
}

HOOK_MAX_WORDS = 8
HOOK_MAX_CHARS = 48
HOOK_PROMPT = (
    "You write the hook line shown on screen for the first two seconds of a YouTube Short. The user sends "
    'the Short\'s first sentence. Answer with one JSON object only: {{"hook": "..."}}, the hook in '
    "{language_name}, at most {max_words} words: the sentence's most striking fact (its number, record or "
    "name), in the sentence's own words. Add nothing the sentence does not say; no quotes, hashtags, emoji "
    "or final full stop."
)

DISCLOSURE = {
    "en": "Script written by the language model {model} (on Groq) from stored, cited facts.",
    "pt-BR": "Roteiro escrito pelo modelo de linguagem {model} (na Groq) a partir de fatos armazenados e citados.",
}


class LLMError(NicheflowError, RuntimeError):
    """The script writer failed; raised as one of the subclasses below, which say whether to retry."""


class LLMAuthError(LLMError, PermanentError):
    """The API key is missing or was rejected: set a valid one."""


class LLMRequestRejected(LLMError, PermanentError):
    """Groq refused the request (a 4xx other than the key's and the rate limit's): an unknown model, a
    request too large. Retrying the same request cannot help."""


class LLMUnavailable(LLMError, TransientError):
    """Groq timed out, could not be reached, or answered 408/409/429/5xx through all of the SDK's retries:
    worth retrying later."""


class LLMOutputError(LLMError, PermanentError):
    """The model's script still failed validation after the repair round. Another run of the same request
    mostly fails the same way and costs tokens: change the model, the target length or the facts."""

    def __init__(self, errors: list[str], usage: dict):
        self.errors = errors
        self.usage = usage
        super().__init__(
            f"the model's script failed validation after {usage['calls']} call(s), including one "
            f"repair round: " + "; ".join(errors) + ". Try another llm.model, or review the topic's facts "
            "and the target length, then run the task again"
        )


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """The tokens' cost in US dollars at the model's list price; None for a model without a known price."""
    price = PRICES_PER_MILLION.get(model)
    if price is None:
        return None
    return round((prompt_tokens * price[0] + completion_tokens * price[1]) / 1e6, 8)


@dataclass
class _Answer:
    content: str
    finish_reason: str | None = None


def new_usage(model: str) -> dict:
    """What a writer's calls spent, added to by each call: tokens, calls, cost (None: no price known)."""
    return {
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "total_tokens": 0,
        "cost_usd": None,
        "calls": 0,
        "model": model,
    }


class GroqWriter:
    """The Groq writer (see the module's docstring); the key is never logged or shown by repr()."""

    name = "groq"

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        *,
        base_url: str | None = None,
        timeout: float = 60,
        max_retries: int = 4,
        prompt_template: Path | None = None,
    ):
        self.model = model
        self._key = api_key or ""
        self._client = groq.Groq(
            api_key=self._key or "missing", base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        env = jinja2.Environment(
            undefined=jinja2.StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
        )
        self._template = env.from_string((prompt_template or DEFAULT_TEMPLATE).read_text(encoding="utf-8"))

    def __repr__(self) -> str:  # never the key
        return f"GroqWriter(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    def close(self) -> None:
        """Close the SDK's HTTP client."""
        self._client.close()

    # -- the one public call ------------------------------------------------------------------------
    def write(self, brief: Brief) -> WriterResult:
        """One script for the brief: one call, and one repair round if the answer fails validation."""
        topic, language, facts, target_words = brief.topic, brief.language, brief.facts, brief.target_words
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {sorted(LANGUAGES)}, not {language!r}")
        if not facts:
            raise ValueError("the writer needs at least one fact to cite")
        if not self._key:
            raise LLMAuthError(AUTH_MESSAGE)
        by_id = {f.id: f for f in facts}
        lo, hi = self.length_bounds(target_words)
        ctx = {
            "topic": topic,
            "language": language,
            "language_name": LANGUAGES[language],
            "facts": facts,
            "target_words": target_words,
            "min_words": lo,
            "max_words": hi,
            "tone": brief.tone,
            "audience": brief.audience,
            "learnings": list(brief.learnings),
            "audience_learnings": [a.lesson for a in brief.audience_learnings],
            "notes": brief.notes,
            "errors": [],
            "questions": list(brief.questions),
            "schema": json.dumps(Script.model_json_schema(), ensure_ascii=False, separators=(",", ":")),
        }
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": self._render("system", ctx)},
            {"role": "user", "content": self._render("user", ctx)},
        ]
        usage = new_usage(self.model)
        answer = self._complete(messages, usage, target_words)
        script, errors = self.validate(answer, by_id, target_words)
        if errors:
            log.warning("groq: the script failed validation, asking for one repair: %s", "; ".join(errors))
            messages += [
                {"role": "assistant", "content": answer.content or "(empty answer)"},
                {"role": "user", "content": self._render("repair", {**ctx, "errors": errors})},
            ]
            answer = self._complete(messages, usage, target_words)
            script, errors = self.validate(answer, by_id, target_words)
            if errors:
                raise LLMOutputError(errors, usage)
        assert script is not None
        flags = grounding.check(script, by_id)
        log.info(
            "groq: script of %d words, %d segments, %d grounding flag(s); %d call(s), %d tokens, cost %s",
            words(script),
            len(script.segments),
            len(flags),
            usage["calls"],
            usage["total_tokens"],
            usage["cost_usd"],
        )
        return WriterResult(
            script=script,
            writer=f"groq ({self.model})",
            disclosure=DISCLOSURE[language].format(model=self.model),
            usage=usage,
            flags=flags,
            applied={
                a.id: "given to the model in the prompt, with its figures" for a in brief.audience_learnings
            },
        )

    def hook_line(
        self, sentence: str, language: str, max_words: int = HOOK_MAX_WORDS, usage: dict | None = None
    ) -> str:
        """The on-screen hook line of a Short that opens with `sentence`: one call in JSON mode, the key
        fact in at most `max_words` words and HOOK_MAX_CHARS characters (longer answers are cut on a word),
        cleaned as plain text. An LLMError as write()'s, also for an empty answer or one with a number the
        sentence does not have. The call's tokens and cost are added to `usage` (write()'s keys), also
        when the answer is refused."""
        if not self._key:
            raise LLMAuthError(AUTH_MESSAGE)
        prompt = HOOK_PROMPT.format(language_name=LANGUAGES.get(language, language), max_words=max_words)
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": prompt},
            {"role": "user", "content": sentence},
        ]
        usage = new_usage(self.model) if usage is None else usage
        answer = self._complete(messages, usage, target_words=0)
        try:
            data = json.loads(_strip_fences(answer.content))
            text = metadata.clean(str(data["hook"] if isinstance(data, dict) else "")).strip("\"'“”«» .")
        except (json.JSONDecodeError, KeyError):
            text = ""
        errors = (["no hook line"] if not text else []) + [
            f"number {n} is not in the sentence" for n in sorted(numbers(text) - numbers(sentence))
        ]
        if errors:
            raise LLMError("the model's hook line was refused: " + "; ".join(errors))
        words_ = text.split()[:max_words]
        while len(" ".join(words_)) > HOOK_MAX_CHARS and len(words_) > 1:
            words_.pop()
        return " ".join(words_)[:HOOK_MAX_CHARS]

    # -- checks ------------------------------------------------------------------------------------
    @staticmethod
    def length_bounds(target_words: int) -> tuple[int, int]:
        """The spoken words a script for `target_words` may have: (least, most), within LENGTH_TOLERANCE."""
        return math.ceil(target_words * (1 - LENGTH_TOLERANCE)), math.floor(
            target_words * (1 + LENGTH_TOLERANCE)
        )

    def validate(
        self, answer: _Answer, facts: dict[int, Fact], target_words: int
    ) -> tuple[Script | None, list[str]]:
        """(script, []) when the answer is acceptable, else (script or None, the errors to send back)."""
        errors: list[str] = []
        if answer.finish_reason == "length":
            errors.append("the answer was cut off (finish_reason=length): write a shorter JSON object")
        text = _strip_fences(answer.content)
        if not text:
            return None, errors + ["the answer was empty: send the script as one JSON object"]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            return None, errors + [
                f"the answer is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
            ]
        try:
            script = Script.model_validate(data)
        except pydantic.ValidationError as e:
            return None, errors + [_pydantic_error(err) for err in e.errors()]
        for i, seg in enumerate(script.segments):
            for j, s in enumerate(seg.sentences):
                unknown = [n for n in s.fact_ids if n not in facts]
                if unknown:
                    errors.append(
                        f"segments[{i}].sentences[{j}] cites fact id(s) {unknown} that are not among "
                        f"the given facts (allowed: {sorted(facts)})"
                    )
        n = words(script)
        lo, hi = self.length_bounds(target_words)
        if not lo <= n <= hi:
            errors.append(
                f"wrong length: the script has {n} spoken words (hook + sentences); it must have "
                f"between {lo} and {hi} (target {target_words})"
            )
        return script, errors

    # -- transport ---------------------------------------------------------------------------------
    def _render(self, part: str, ctx: dict) -> str:
        return self._template.render(part=part, **ctx).strip()

    def _complete(
        self, messages: list[ChatCompletionMessageParam], usage: dict, target_words: int
    ) -> _Answer:
        usage["calls"] += 1
        try:
            with latency.timed(self.name, "chat.completions"):  # the SDK's own retries are inside
                resp = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    temperature=TEMPERATURE,
                    response_format={"type": "json_object"},
                    max_completion_tokens=min(32768, 2048 + 8 * target_words),
                )
        except (groq.AuthenticationError, groq.PermissionDeniedError) as e:
            raise LLMAuthError(
                f"{AUTH_MESSAGE} (HTTP {e.status_code}: {self._redact(_api_message(e))})"
            ) from None
        except groq.BadRequestError as e:
            # JSON mode: Groq itself rejects a generation that is not valid JSON and returns it here.
            err = _api_error(e)
            if err.get("code") == "json_validate_failed":
                log.warning("groq: the model's answer was not valid JSON (json_validate_failed)")
                return _Answer(content=str(err.get("failed_generation") or ""))
            raise self._status_error(e) from None
        except groq.APIStatusError as e:
            raise self._status_error(e) from None
        except groq.APITimeoutError:
            raise LLMUnavailable(
                f"Groq did not answer within the timeout at {self._client.base_url}, "
                f"after {self._client.max_retries} retries"
            ) from None
        except groq.APIConnectionError as e:
            raise LLMUnavailable(
                f"could not reach Groq at {self._client.base_url} after {self._client.max_retries} "
                f"retries: {self._redact(str(e.__cause__ or e))}"
            ) from None
        u = resp.usage
        if u is not None:
            usage["prompt_tokens"] += u.prompt_tokens
            usage["completion_tokens"] += u.completion_tokens
            usage["total_tokens"] += u.total_tokens
        usage["cost_usd"] = cost_usd(self.model, usage["prompt_tokens"], usage["completion_tokens"])
        choice = resp.choices[0]
        return _Answer(content=choice.message.content or "", finish_reason=choice.finish_reason)

    def _status_error(self, e: groq.APIStatusError) -> LLMError:
        hint = ""
        if e.status_code == 429:
            hint = (
                f" (rate limited; gave up after {self._client.max_retries} retries; retry-after was "
                f"{e.response.headers.get('retry-after', 'not given')})"
            )
        message = f"Groq API error HTTP {e.status_code}: {self._redact(_api_message(e))}{hint}"
        if is_transient_status(e.status_code) or e.status_code == 409:  # the SDK retries 409 too
            return LLMUnavailable(message + ". Try again later")
        return LLMRequestRejected(message + ". Not retried: fix the request (model, size) first")

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if len(self._key) >= 4 else text


def _api_error(e: groq.APIStatusError) -> dict:
    body = e.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return body if isinstance(body, dict) else {}


def _api_message(e: groq.APIStatusError) -> str:
    err = _api_error(e)
    msg = err.get("message") or (e.body if isinstance(e.body, str) and e.body else e.message)
    code = err.get("code") or err.get("type")
    return f"{msg} ({code})" if code else str(msg)


def _pydantic_error(err: ErrorDetails) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".") or "script"
    return f"{where}: {err['msg']}"


def _strip_fences(text: str) -> str:
    m = re.fullmatch(r"\s*```(?:json)?\s*(.*?)\s*```\s*", text, flags=re.DOTALL)
    return (m.group(1) if m else text).strip()


def groq_from_env(model: str = DEFAULT_MODEL, **kwargs) -> GroqWriter | None:
    """A GroqWriter keyed by GROQ_API_KEY, or None when it is not set (then the offline writer is used)."""
    key = os.environ.get("GROQ_API_KEY", "").strip()
    return GroqWriter(key, model, **kwargs) if key else None
