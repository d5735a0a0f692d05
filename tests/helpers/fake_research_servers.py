"""Local stand-ins for the online research APIs, for tests: real HTTP on 127.0.0.1 (random port), one
thread per request, speaking the same protocol and JSON shapes as the real services.

- `FakeWikipedia`: the MediaWiki Action API (`/w/api.php`: `list=search`, `prop=extracts|info|pageprops`)
  for a tiny English and Portuguese Wikipedia. Serve `base_url("en")` or `base_url("pt-BR")`. It behaves
  like the real one where that matters: search ANDs the query words (accents ignored), `exintro` present
  (whatever its value) returns only the lead, whole-page extracts come one page per request, API errors
  come back as HTTP 200 with an `error` object, and a missing or generic User-Agent gets a 403.
- `FakeBraveSearch`: `/res/v1/web/search` with `X-Subscription-Token`; a missing token gets 401, a wrong
  one 422 SUBSCRIPTION_TOKEN_INVALID (what Brave answers), descriptions carry <strong> decorations.

Both are scriptable: `server.fail(...)` queues failures, each consumed by the next request whatever its
path (`timeout(s)` sleeps before answering, `status(429, retry_after=1)`, `status(503)`, ...). Every
request received is recorded in `server.requests` (method, path, query, headers with lowercase names,
the status answered)."""

from __future__ import annotations

import json
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

# -- scripting ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    status: int | None = None  # None: no error status, only a delay (then the normal answer)
    delay: float = 0.0  # seconds to sleep before answering (longer than the client timeout
    headers: dict = field(default_factory=dict)  # = a read timeout on the client side)
    body: dict | str | None = None


def timeout(seconds: float) -> Failure:
    """Answer normally, but only after `seconds`: longer than the client's timeout, it is a read timeout."""
    return Failure(delay=seconds)


def status(
    code: int,
    *,
    retry_after: str | float | None = None,
    headers: dict | None = None,
    body: dict | str | None = None,
) -> Failure:
    h = dict(headers or {})
    if retry_after is not None:
        h["Retry-After"] = str(retry_after)
    return Failure(status=code, headers=h, body=body)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int = 0
    at: float = 0.0


class FakeServer:
    """Base: a threading HTTP server with a failure queue and a request log. Subclasses implement
    `respond(method, path, query, headers) -> (status, headers, body)`."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                outer._handle(self)

            def log_message(self, format, *args):  # keep test output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=type(self).__name__,
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def fail(self, *failures: Failure) -> None:
        with self._lock:
            self._failures.extend(failures)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        rec = Recorded(
            h.command, parts.path, query, {k.lower(): v for k, v in h.headers.items()}, at=time.monotonic()
        )
        with self._lock:
            self.requests.append(rec)
            failure = self._failures.popleft() if self._failures else None
        if failure and failure.delay:
            time.sleep(failure.delay)
        if failure and failure.status is not None:
            code, headers, body = failure.status, dict(failure.headers), failure.body
            if body is None:
                body = self.error_body(code)
        else:
            code, headers, body = self.respond(h.command, parts.path, query, rec.headers)
            if failure:
                headers = {**headers, **failure.headers}
        rec.status = code
        data = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        raw = data.encode("utf-8")
        try:
            h.send_response(code)
            h.send_header(
                "Content-Type",
                "application/json; charset=utf-8"
                if not isinstance(body, str)
                else "text/plain; charset=utf-8",
            )
            h.send_header("Content-Length", str(len(raw)))
            for k, v in headers.items():
                h.send_header(k, str(v))
            h.end_headers()
            h.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away: that was the point

    def error_body(self, code: int) -> dict | str:
        return {"error": f"HTTP {code}"}

    def respond(self, method: str, path: str, query: dict, headers: dict) -> tuple[int, dict, dict | str]:
        raise NotImplementedError


# -- Wikipedia ------------------------------------------------------------------------------------------

# (title, pageid, canonical url, lead paragraphs, [(level, heading, paragraphs)]). True content, written for
# these tests; page ids are made up.
WIKI_PAGES = {
    "en": [
        (
            "Hubble Space Telescope",
            1001,
            "https://en.wikipedia.org/wiki/Hubble_Space_Telescope",
            [
                "The Hubble Space Telescope is a space telescope that was launched into low Earth orbit in 1990 "
                "and remains in operation. It was carried into orbit aboard the U.S. Space Shuttle Discovery on "
                "the STS-31 mission in April 1990. The telescope is named after the astronomer Edwin Hubble. "
                "Hubble orbits Earth.",
                "Hubble is a joint project of NASA and the European Space Agency.",
            ],
            [
                (
                    2,
                    "History",
                    [
                        "The astrophysicist Dr. Lyman Spitzer proposed a large space telescope in a 1946 "
                        "paper on the advantages of an observatory above the atmosphere. Shortly after "
                        "launch, astronomers found that the main mirror had been ground to the wrong shape, "
                        "which blurred its images."
                    ],
                ),
                (
                    3,
                    "Servicing missions",
                    [
                        "The flaw was corrected in December 1993 by the first servicing "
                        "mission, STS-61. Astronauts visited the telescope five times between "
                        "1993 and 2009 to repair it and install new instruments."
                    ],
                ),
                (
                    2,
                    "See also",
                    [
                        "James Webb Space Telescope",
                        "List of space telescopes launched by the United "
                        "States and their current operational status in orbit today.",
                    ],
                ),
                (2, "References", []),
            ],
        ),
        (
            "Apollo 11",
            1002,
            "https://en.wikipedia.org/wiki/Apollo_11",
            [
                "Apollo 11 was the American spaceflight that first landed humans on the Moon, on July 20, 1969. "
                "Commander Neil Armstrong and lunar module pilot Buzz Aldrin landed the lunar module Eagle in the "
                "Sea of Tranquility. Michael Collins remained in lunar orbit aboard the command module Columbia."
            ],
            [
                (
                    2,
                    "Launch",
                    [
                        "The mission was launched by a Saturn V rocket from Kennedy Space Center in Florida "
                        "on July 16, 1969."
                    ],
                ),
                (
                    2,
                    "Return",
                    ["The crew returned to Earth and splashed down in the Pacific Ocean on July 24, 1969."],
                ),
            ],
        ),
        (
            "Hubble (disambiguation)",
            1003,
            "https://en.wikipedia.org/wiki/Hubble_(disambiguation)",
            ["Hubble may refer to the astronomer Edwin Hubble or the Hubble Space Telescope in orbit."],
            [],
        ),
    ],
    "pt-BR": [
        (
            "Independência do Brasil",
            2001,
            "https://pt.wikipedia.org/wiki/Independ%C3%AAncia_do_Brasil",
            [
                "A Independência do Brasil foi o processo que separou o Reino do Brasil do Reino Unido de Portugal, "
                "Brasil e Algarves. O príncipe regente D. Pedro proclamou a independência em 7 de setembro de 1822, "
                "às margens do riacho Ipiranga, em São Paulo. Em 12 de outubro de 1822, D. Pedro foi aclamado "
                "imperador do Brasil, e foi coroado em 1º de dezembro do mesmo ano."
            ],
            [
                (
                    2,
                    "Antecedentes",
                    [
                        "A corte portuguesa transferiu-se para o Brasil em 1808, fugindo da invasão "
                        "napoleônica de Portugal. Em 1815, o Brasil foi elevado à condição de reino "
                        "unido a Portugal e Algarves.",
                        "Em 9 de janeiro de 1822, D. Pedro decidiu permanecer no Brasil, episódio "
                        "conhecido como Dia do Fico.",
                    ],
                ),
                (
                    2,
                    "Reconhecimento",
                    [
                        "Os Estados Unidos foram o primeiro país a reconhecer a independência "
                        "brasileira, em 1824. Portugal reconheceu a independência do Brasil em 1825, "
                        "pelo Tratado do Rio de Janeiro."
                    ],
                ),
                (2, "Ver também", ["Império do Brasil", "Grito do Ipiranga"]),
                (2, "Referências", []),
            ],
        ),
        (
            "Júlio César",
            2002,
            "https://pt.wikipedia.org/wiki/J%C3%BAlio_C%C3%A9sar",
            [
                "Caio Júlio César foi um líder militar e político romano que desempenhou um papel fundamental nos "
                "eventos que levaram ao fim da República Romana. Ele nasceu em Roma em julho de 100 a.C. e pertencia "
                "à gente Júlia, uma família patrícia."
            ],
            [
                (
                    2,
                    "Guerra civil",
                    [
                        "Em 49 a.C. César atravessou o rio Rubicão com uma legião, dando início a uma "
                        "guerra civil contra Pompeu e o Senado. César foi assassinado nos Idos de "
                        "Março de 44 a.C. por um grupo de senadores liderados por Bruto e Cássio."
                    ],
                )
            ],
        ),
    ],
}
_WIKI_PREFIX = {"en": "/en", "pt-BR": "/pt"}
_GENERIC_AGENTS = ("python-httpx", "python-requests", "python-urllib", "curl")


def _fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", text.casefold()) if unicodedata.category(c) != "Mn"
    )


def _words(text: str) -> set[str]:
    return {w for w in "".join(c if c.isalnum() else " " for c in _fold(text)).split() if w}


class FakeWikipedia(FakeServer):
    def base_url(self, language: str) -> str:
        return self.url + _WIKI_PREFIX[language]

    @staticmethod
    def _page_text(page, intro_only: bool) -> str:
        _, _, _, lead, sections = page
        parts = ["\n".join(lead)]
        if not intro_only:
            for level, heading, paras in sections:
                marks = "=" * level
                parts.append(f"\n\n{marks} {heading} {marks}\n" + "\n".join(paras))
        return "".join(parts)

    def error_body(self, code: int) -> dict | str:
        return f"Error {code}: Wikimedia Error (fake)"

    @staticmethod
    def _api_error(code: str, info: str) -> tuple[int, dict, dict]:
        return 200, {"MediaWiki-API-Error": code}, {"error": {"code": code, "info": info}, "servedby": "fake"}

    def respond(self, method, path, query, headers):
        lang = next((lg for lg, p in _WIKI_PREFIX.items() if path == p + "/w/api.php"), None)
        if lang is None:
            return 404, {}, "Not Found"
        agent = headers.get("user-agent", "")
        if not agent or agent.lower().startswith(_GENERIC_AGENTS):
            return (
                403,
                {},
                (
                    "Please set a user-agent and respect our robot policy "
                    "https://w.wiki/4wJS. See also https://phabricator.wikimedia.org/T400119."
                ),
            )
        if query.get("format") != "json":
            return 200, {}, "<!DOCTYPE html><html>this fake speaks only format=json</html>"
        if query.get("action") != "query":
            return self._api_error(
                "badvalue", f'Unrecognized value for parameter "action": {query.get("action")}.'
            )
        v2 = query.get("formatversion") in ("2", "latest")
        pages = WIKI_PAGES[lang]
        if query.get("list") == "search":
            if not query.get("srsearch"):
                return self._api_error("missingparam", 'The "srsearch" parameter must be set.')
            limit = int(query.get("srlimit", "10"))
            terms = _words(query["srsearch"])
            hits = []
            for p in pages:
                title, pageid, _, _, _ = p
                text = self._page_text(p, intro_only=False)
                words = _words(title + " " + text)
                if terms and terms <= words:
                    score = sum(1 for t in terms if t in _words(title)) * 10 + len(terms & words)
                    hits.append((score, p, text))
            hits.sort(key=lambda h: -h[0])
            results = [
                {
                    "ns": 0,
                    "title": p[0],
                    "pageid": p[1],
                    "size": len(text.encode()),
                    "wordcount": len(text.split()),
                    "snippet": "",
                    "timestamp": "2024-05-01T12:00:00Z",
                }
                for _, p, text in hits[:limit]
            ]
            body = {
                "batchcomplete": True if v2 else "",
                "query": {"searchinfo": {"totalhits": len(hits)}, "search": results},
            }
            if len(hits) > limit:
                body["continue"] = {"sroffset": limit, "continue": "-||"}
            return 200, {}, body
        if query.get("prop"):
            props = set(query["prop"].split("|"))
            ids = [int(i) for i in query.get("pageids", "").split("|") if i.strip().isdigit()]
            intro_only = "exintro" in query  # MediaWiki boolean: present means true, whatever the value
            out, warnings = [], {}
            for n, pid in enumerate(ids):
                page = next((p for p in pages if p[1] == pid), None)
                if page is None:
                    out.append({"pageid": pid, "missing": True} if v2 else {"pageid": pid, "missing": ""})
                    continue
                title, _, url, _, _ = page
                entry = {"pageid": pid, "ns": 0, "title": title}
                if "info" in props:
                    entry.update(
                        {
                            "contentmodel": "wikitext",
                            "pagelanguage": lang.split("-")[0],
                            "pagelanguagehtmlcode": lang.split("-")[0],
                            "pagelanguagedir": "ltr",
                            "touched": "2024-05-01T12:00:00Z",
                            "lastrevid": pid * 10,
                            "length": 5000,
                        }
                    )
                    if query.get("inprop") and "url" in query["inprop"].split("|"):
                        entry.update(
                            {
                                "fullurl": url,
                                "editurl": url.replace("/wiki/", "/w/index.php?title=") + "&action=edit",
                                "canonicalurl": url,
                            }
                        )
                if "pageprops" in props and "Hubble (disambiguation)" == title:
                    entry["pageprops"] = {"disambiguation": ""}
                if "extracts" in props:
                    if intro_only or n == 0:  # whole-page extracts: only one per request (exlimit)
                        text = self._page_text(page, intro_only)
                        entry["extract"] = text if "explaintext" in query else f"<p>{text}</p>"
                    else:
                        warnings = {
                            "extracts": {
                                "warnings": '"exlimit" was too large for a whole article '
                                "extracts request, lowered to 1."
                            }
                        }
                out.append(entry)
            body: dict = {
                "batchcomplete": True if v2 else "",
                "query": {"pages": out if v2 else {str(e["pageid"]): e for e in out}},
            }
            if warnings:
                body["warnings"] = warnings
            return 200, {}, body
        return 200, {}, {"batchcomplete": True if v2 else ""}


# -- Brave Search ---------------------------------------------------------------------------------------

BRAVE_RESULTS = {
    "en": [
        {
            "title": "Hubble Space Telescope - <strong>NASA</strong> Science",
            "url": "https://science.nasa.gov/mission/hubble/",
            "description": "The <strong>Hubble</strong> Space Telescope has been in orbit since April 1990. "
            "It has made more than 1.5 million observations over its lifetime. Since 1990 ...",
            "extra_snippets": [
                "Hubble orbits about 515 kilometers above the surface of the Earth.",
                "... completes one orbit around Earth roughly every 95 minutes, travelling",
            ],
        },
        {
            "title": "Hubble Space Telescope | Britannica",
            "url": "https://www.britannica.com/topic/Hubble-Space-Telescope",
            "description": "<strong>Hubble</strong> Space Telescope, the first sophisticated optical observatory "
            "placed into orbit around Earth, was launched on April 24, 1990.",
        },
    ],
    "pt-BR": [
        {
            "title": "Independência do Brasil - Brasil Escola",
            "url": "https://brasilescola.uol.com.br/historiab/independencia-do-brasil.htm",
            "description": "A <strong>Independência do Brasil</strong> foi proclamada por D. Pedro em 7 de "
            "setembro de 1822, em São Paulo.",
            "extra_snippets": [
                "Portugal só reconheceu a independência brasileira em 1825, mediante o pagamento "
                "de uma indenização."
            ],
        },
    ],
}


class FakeBraveSearch(FakeServer):
    def __init__(self, valid_key: str = "test-key-valid"):
        super().__init__()
        self.valid_key = valid_key

    def error_body(self, code: int) -> dict:
        codes = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 429: "RATE_LIMITED", 503: "SERVICE_UNAVAILABLE"}
        return _brave_error(code, codes.get(code, "ERROR"), f"fake HTTP {code}")

    def respond(self, method, path, query, headers):
        if path != "/res/v1/web/search":
            return 404, {}, _brave_error(404, "NOT_FOUND", "Resource not found")
        token = headers.get("x-subscription-token")
        if not token:
            return 401, {}, _brave_error(401, "UNAUTHORIZED", "Missing subscription token")
        if token != self.valid_key:
            return (
                422,
                {},
                _brave_error(
                    422, "SUBSCRIPTION_TOKEN_INVALID", "The provided subscription token is invalid."
                ),
            )
        q = query.get("q", "")
        if not q:
            return 422, {}, _brave_error(422, "VALIDATION", "Unable to validate request parameter(s)")
        lang = "pt-BR" if query.get("search_lang") == "pt-br" else "en"
        count = int(query.get("count", "20"))
        terms = _words(q)
        results = []
        for r in BRAVE_RESULTS[lang]:
            if terms & _words(r["title"] + " " + r["description"]):
                host = r["url"].split("/")[2]
                item = {
                    "type": "search_result",
                    "subtype": "generic",
                    "title": r["title"],
                    "url": r["url"],
                    "is_source_local": False,
                    "is_source_both": False,
                    "description": r["description"],
                    "language": lang.split("-")[0],
                    "family_friendly": True,
                    "profile": {
                        "name": host,
                        "url": r["url"],
                        "long_name": host,
                        "img": f"https://imgs.search.brave.com/{host}.png",
                    },
                    "meta_url": {
                        "scheme": "https",
                        "netloc": host,
                        "hostname": host,
                        "favicon": f"https://imgs.search.brave.com/{host}.ico",
                        "path": "› " + " › ".join(r["url"].split("/")[3:-1]),
                    },
                }
                if query.get("extra_snippets") == "true" and r.get("extra_snippets"):
                    item["extra_snippets"] = r["extra_snippets"]
                results.append(item)
        body = {
            "type": "search",
            "query": {
                "original": q,
                "show_strict_warning": False,
                "is_navigational": False,
                "is_news_breaking": False,
                "spellcheck_off": True,
                "country": query.get("country", "us"),
                "bad_results": False,
                "should_fallback": False,
                "postal_code": "",
                "city": "",
                "header_country": "",
                "more_results_available": False,
                "state": "",
            },
            "mixed": {
                "type": "mixed",
                "main": [{"type": "web", "index": i, "all": False} for i in range(len(results[:count]))],
                "top": [],
                "side": [],
            },
        }
        if results:
            body["web"] = {"type": "search", "results": results[:count], "family_friendly": True}
        headers = {
            "X-RateLimit-Limit": "1, 15000",
            "X-RateLimit-Policy": "1;w=1, 15000;w=2592000",
            "X-RateLimit-Remaining": "0, 14990",
            "X-RateLimit-Reset": "1, 1419704",
        }
        return 200, headers, body


def _brave_error(status: int, code: str, detail: str) -> dict:
    return {
        "type": "ErrorResponse",
        "error": {
            "id": "00000000-0000-0000-0000-000000000000",
            "status": status,
            "code": code,
            "detail": detail,
            "meta": {"component": "fake"},
        },
        "time": int(time.time()),
    }
