"""A real SMTP server on 127.0.0.1 (aiosmtpd) for delivery tests: it records what it accepted.

`Mailbox` is the handler: it can refuse the first DATA attempts with given codes (a 451 "try later" or a 554
"rejected") and refuse given recipients, and it keeps every accepted envelope, with whether the session
was encrypted and who logged in. `smtp_server` runs it on a free loopback port for the length of a block.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool  # the session was encrypted (SSL or STARTTLS)
    login: str | None  # who authenticated, if anyone

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default_policy)  # type: ignore[return-value]


@dataclass
class Mailbox:
    """An aiosmtpd handler. `fail_data` answers the first DATA commands with these codes, one each;
    `during_data` is awaited once, inside the first DATA, before it is answered (the server keeps serving)."""

    fail_data: list[int] = field(default_factory=list)
    refuse_rcpt: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    data_attempts: int = 0
    during_data: Callable[[], Awaitable[None]] | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.during_data is not None:
            hook, self.during_data = self.during_data, None
            await hook()
        if self.fail_data:
            code = self.fail_data.pop(0)
            return f"{code} 4.3.0 Mailbox busy, try again later" if code < 500 else f"{code} 5.7.1 Rejected"
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=bytes(envelope.original_content or envelope.content),
                tls=server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return "250 Message accepted for delivery"


class _LoopbackController(Controller):
    """Binds port 0 and learns the port the system chose before aiosmtpd's own readiness probe."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=ok, auth_data=auth_data if ok else None)


@dataclass
class Server:
    mailbox: Mailbox
    port: int

    @property
    def received(self) -> list[Received]:
        return self.mailbox.received


@contextmanager
def smtp_server(
    mailbox: Mailbox | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    tls_context: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
) -> Iterator[Server]:
    """`ssl_context`: implicit TLS (SMTPS); `tls_context`: STARTTLS, then required; `credentials`: AUTH required."""
    box = mailbox or Mailbox()
    kwargs: dict[str, Any] = {}
    if tls_context is not None:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    if credentials is not None:
        kwargs.update(authenticator=credentials, auth_required=True)
        if ssl_context is not None:  # aiosmtpd only counts STARTTLS as TLS; an SMTPS connection is encrypted too
            kwargs.update(auth_require_tls=False)
    controller = _LoopbackController(
        box, hostname="127.0.0.1", port=0, ssl_context=ssl_context, ready_timeout=10, **kwargs
    )
    controller.start()
    try:
        yield Server(box, controller.port)
    finally:
        controller.stop()
