"""A local stand-in for Azure Speech's text-to-speech websocket service, for tests that drive the real
`azure.cognitiveservices.speech` SDK (SpeechConfig(endpoint="ws://127.0.0.1:PORT/...", subscription=KEY)).

It speaks the service's websocket protocol ("USP"): the SDK sends text frames `Path:speech.config`,
`Path:synthesis.context` (with the output format) and `Path:ssml`; the service answers `Path:turn.start`,
`Path:audio.metadata` frames with WordBoundary JSON (Offset and Duration in 100-ns ticks), binary frames
(2-byte big-endian header length, the header with `Path:audio`, then raw PCM) and `Path:turn.end`.
A wrong key is refused at the handshake with 401, as the service does; SSML that is not well-formed XML
ends the connection with close code 1007 and the service's message.

The "voice" is a tone burst per word and a pause after punctuation, so tests can check that the word
timings point at sound. Every SSML document received is kept in `ssml`."""

from __future__ import annotations

import asyncio
import json
import math
import re
import struct
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

PATH = "/cognitiveservices/websocket/v1"
TICKS = 10_000_000  # per second
WORD_SECONDS = 0.3
GAP_SECONDS = 0.08
PUNCT_SECONDS = 0.25
TOKEN = re.compile(r"\w[\w'’-]*|[^\w\s]")


def _frame_headers(request_id: str, path: str, content_type: str) -> str:
    return f"X-RequestId:{request_id}\r\nContent-Type:{content_type}\r\nPath:{path}\r\n"


def _parse(message: str) -> tuple[dict[str, str], str]:
    head, _, body = message.partition("\r\n\r\n")
    headers = dict(line.split(":", 1) for line in head.split("\r\n") if ":" in line)
    return {k.strip().lower(): v.strip() for k, v in headers.items()}, body


@dataclass
class FakeAzureSpeech:
    key: str = "test-key"
    ssml: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    @property
    def endpoint(self) -> str:
        return f"ws://127.0.0.1:{self.port}{PATH}"

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = self._loop.create_future()
        async with serve(
            self._handle, "127.0.0.1", 0, subprotocols=["USP"], process_request=self._check_key
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    def _check_key(self, connection: ServerConnection, request) -> Response | None:
        if request.headers.get("Ocp-Apim-Subscription-Key") != self.key:
            body = b"Access denied due to invalid subscription key or wrong API endpoint."
            return Response(401, "Unauthorized", Headers({"Content-Length": str(len(body))}), body)
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        rate = 16000
        async for message in ws:
            if not isinstance(message, str):
                continue
            headers, body = _parse(message)
            if headers.get("path") == "synthesis.context":
                fmt = json.loads(body)["synthesis"]["audio"]["outputFormat"]  # e.g. raw-24khz-16bit-mono-pcm
                rate = int(re.search(r"(\d+)khz", fmt).group(1)) * 1000
            elif headers.get("path") == "ssml":
                self.ssml.append(body)
                try:
                    text = "".join(ET.fromstring(body).itertext())
                except ET.ParseError as e:
                    await ws.close(1007, f"SSML parsing error: {e}"[:120])
                    return
                await self._speak(ws, headers["x-requestid"], text, rate)

    async def _speak(self, ws: ServerConnection, request_id: str, text: str, rate: int) -> None:
        json_type = "application/json; charset=utf-8"
        await ws.send(
            _frame_headers(request_id, "turn.start", json_type) + '\r\n{"context":{"serviceTag":"fake"}}'
        )
        pcm = bytearray()
        t = 0.05
        pcm += bytes(2 * round(t * rate))
        for token in TOKEN.findall(text):
            punct = not token[0].isalnum()
            seconds = PUNCT_SECONDS if punct else WORD_SECONDS
            box = {
                "Type": "WordBoundary",
                "Data": {
                    "Offset": round(t * TICKS),
                    "Duration": round(seconds * TICKS),
                    "text": {
                        "Text": token,
                        "Length": len(token),
                        "BoundaryType": "PunctuationBoundary" if punct else "WordBoundary",
                    },
                },
            }
            await ws.send(
                _frame_headers(request_id, "audio.metadata", json_type)
                + "\r\n"
                + json.dumps({"Metadata": [box]})
            )
            n = round(seconds * rate)
            if punct:
                pcm += bytes(2 * n)
            else:
                pcm += b"".join(
                    struct.pack("<h", round(8000 * math.sin(2 * math.pi * 220 * i / rate))) for i in range(n)
                )
            pcm += bytes(2 * round(GAP_SECONDS * rate))
            t += seconds + GAP_SECONDS
        header = _frame_headers(request_id, "audio", "audio/x-wav").encode()
        for i in range(0, len(pcm), 8192):
            await ws.send(struct.pack(">H", len(header)) + header + bytes(pcm[i : i + 8192]))
        await ws.send(_frame_headers(request_id, "turn.end", json_type) + "\r\n{}")
