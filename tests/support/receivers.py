"""Real local receivers for the notice channels, started by the tests and stopped with them.

`HttpReceiver` is one HTTP server (the standard library's, in a thread) that answers as three parties:
- a webhook consumer at `/hook/<name>`: it checks the signature with the five-line receiver printed in
  docs/webhooks.md (read from that file, so the document is what is tested), refuses a stale timestamp, and
  keeps each Idempotency-Key once;
- the 企业微信 group robot at `/cgi-bin/webhook/send?key=…`: it checks the key and the markdown message;
- the 钉钉 group robot at `/robot/send?access_token=…`: it checks the token, the markdown message and, for a
  robot with 加签 on, the timestamp (within an hour) and the sign, computed as the robot computes it.
Robots answer HTTP 200 with an errcode, as the real ones do. Each party can be told to fail the next N
requests (`fail_next`) or to answer slowly (`delay_s`).

`smtp_receiver` starts aiosmtpd in the test's event loop, with STARTTLS required and a login after it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.support.certs import ServerCertificate

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_receiver() -> Any:
    """The `verified(secret, headers, body)` function of docs/webhooks.md, exactly as printed there."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"<!-- receiver -->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/webhooks.md lost its receiver block"
    space: dict[str, Any] = {}
    exec(compile(block[1], str(DOCS), "exec"), space)
    return space["verified"]


@dataclass
class Request:
    party: str  # webhook name, "wecom" or "dingtalk"
    path: str
    query: dict[str, list[str]]
    raw_query: str
    headers: dict[str, str]
    body: bytes
    #: What was answered: the HTTP status, and the robot's errcode (None for webhooks).
    status: int = 200
    errcode: int | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    wecom_keys: set[str] = field(default_factory=set)
    #: access_token → the robot's signing secret (None: 加签 off).
    dingtalk_robots: dict[str, str | None] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    #: Per webhook name: the Idempotency-Keys kept, each with the body kept the first time.
    kept: dict[str, dict[str, bytes]] = field(default_factory=lambda: defaultdict(dict))
    delay_s: float = 0.0
    _script: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, party: str, count: int, *, status: int = 503, errcode: int | None = None) -> None:
        """The next `count` requests to `party` fail: with `errcode` in a 200 answer (robots), else `status`."""
        with self._lock:
            self._script[party] += [("errcode", errcode) if errcode is not None else ("status", status)] * count

    def of(self, party: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.party == party]

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="http-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    # -- the three parties ---------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        parts = urlsplit(handler.path)
        headers = {k: v for k, v in handler.headers.items()}
        if self.delay_s:
            time.sleep(self.delay_s)
        if parts.path.startswith("/hook/"):
            party = parts.path.removeprefix("/hook/")
        else:
            party = {"/cgi-bin/webhook/send": "wecom", "/robot/send": "dingtalk"}.get(parts.path, "unknown")
        request = Request(party, parts.path, parse_qs(parts.query), parts.query, headers, body)
        with self._lock:
            self.requests.append(request)
            scripted = self._script[party].pop(0) if self._script[party] else None
        if party == "wecom":
            request.errcode = self._wecom(request) if scripted is None else _scripted(request, scripted)
        elif party == "dingtalk":
            request.errcode = self._dingtalk(request) if scripted is None else _scripted(request, scripted)
        elif party in self.webhook_secrets:
            request.status = self._webhook(party, request, handler.headers) if scripted is None else scripted[1]
        else:
            request.status = 404
        answer = {"errcode": request.errcode, "errmsg": "ok" if request.errcode == 0 else "refused"}
        payload = json.dumps(answer if request.errcode is not None else {"status": request.status}).encode()
        handler.send_response(request.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def _webhook(self, name: str, request: Request, headers: Any) -> int:
        if headers.get("Content-Type", "").split(";")[0] != "application/json":
            return 415
        if not documented_receiver()(self.webhook_secrets[name].encode(), headers, request.body):
            return 401
        key = headers.get("Idempotency-Key")
        if not key:
            return 400
        with self._lock:
            self.kept[name].setdefault(key, request.body)  # a repeat is answered 200 and not kept again
        return 200

    def _wecom(self, request: Request) -> int:
        if request.query.get("key", [""])[0] not in self.wecom_keys:
            return 93000  # invalid webhook url
        message = _json(request.body)
        content = (message or {}).get("markdown", {}).get("content") if isinstance(message, dict) else None
        if not message or message.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
            return 40008  # invalid message type
        return 40058 if len(content.encode("utf-8")) > 4096 else 0

    def _dingtalk(self, request: Request) -> int:
        token = request.query.get("access_token", [""])[0]
        if token not in self.dingtalk_robots:
            return 300001  # token is not exist
        secret = self.dingtalk_robots[token]
        if secret is not None:
            timestamp, sign = request.query.get("timestamp", [""])[0], request.query.get("sign", [""])[0]
            if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600 * 1000:
                return 310000  # timestamp missing or more than an hour off
            mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(base64.b64encode(mac).decode(), sign):
                return 310000  # sign not match
        message = _json(request.body)
        markdown = message.get("markdown") if isinstance(message, dict) else None
        if not isinstance(markdown, dict) or message.get("msgtype") != "markdown":
            return 40035  # missing or wrong msgtype
        if not all(isinstance(markdown.get(k), str) and markdown[k] for k in ("title", "text")):
            return 40035
        return 0


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _scripted(request: Request, scripted: tuple[str, int]) -> int | None:
    kind, value = scripted
    if kind == "status":
        request.status = value
        return None
    return value


@asynccontextmanager
async def http_receiver(**parties: Any) -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver(**parties).start()
    try:
        yield receiver
    finally:
        receiver.stop()


# -- SMTP ------------------------------------------------------------------------------------------------------
@dataclass
class SmtpReceiver:
    port: int
    mails: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), mail))  # type: ignore[arg-type]
        login = session.auth_data.login.decode() if session.authenticated else None
        self.sessions.append({"tls": session.ssl is not None, "login": login})
        return "250 2.0.0 queued as TEST1"


@asynccontextmanager
async def smtp_receiver(
    cert: ServerCertificate | None, *, users: dict[str, str] | None = None
) -> AsyncIterator[SmtpReceiver]:
    """aiosmtpd on a free port of 127.0.0.1. With `cert`: STARTTLS offered and required before anything else;
    with `users`: a login required (after STARTTLS). Without `cert`: a server that offers no STARTTLS."""
    context = None
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert.cert_file, cert.key_file)
    known = users or {}

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and known.get(data.login.decode()) == data.password.decode()
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)  # not handled: 535 sent

    receiver = SmtpReceiver(port=0)
    options: dict[str, Any] = {"hostname": "receiver.test", "tls_context": context, "require_starttls": bool(context)}
    if users is not None:
        options |= {"authenticator": authenticator, "auth_required": True, "auth_require_tls": True}
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(receiver, **options), "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()
