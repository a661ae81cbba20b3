"""Hand a message to an SMTP server (STARTTLS, SSL or plain on loopback). The password comes from the environment.

`smtp.timeout` bounds the whole conversation, not each read: every read and write gets what is left of one
deadline, so a server dripping its greeting a byte at a time cannot hold a run (issue 15). What a failure means
for the issue depends on when it came: before the message's final "." went out the server cannot have the
message (retry); after it, only an explicit 4xx/5xx answer says the server did not take it; silence, a
dropped connection or a garbled answer leave it `Unconfirmed` (never resent automatically).
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from collections.abc import Sequence
from email.utils import parseaddr
from typing import Any

from digest.config import SmtpConfig
from digest.fetch.http import deadline_reader


class SendError(Exception):
    """The server did not accept the message; the issue stays pending and is retried next run.

    `permanent`: the server refused the message itself with a 5xx (to MAIL FROM, every RCPT TO, DATA or the
    final "."), which a retry is not expected to change; the outbox gives up after a few of these. A 5xx to a
    step about our own configuration (EHLO, STARTTLS, AUTH) is not counted: fixing the configuration fixes it."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Unconfirmed(Exception):
    """The whole message went out but the server never said whether it took it: it may have been delivered.
    Like a crash in that window, the issue is not resent unless someone asks (`--resend-unconfirmed`)."""


class PartialDelivery(Exception):
    """The server accepted the message for some recipients and refused the listed others."""


class _Session(smtplib.SMTP):
    """smtplib's client with one deadline for the whole conversation, which knows whether the message's final
    "." has gone out. `tls` set: implicit TLS (SMTPS) from the first byte."""

    def __init__(self, host: str, port: int, *, deadline: float, tls: ssl.SSLContext | None = None) -> None:
        self.deadline = deadline
        self.handed_over = False  # the whole message, final "." included, is with the server's kernel
        self._in_data = False
        self._tls = tls
        super().__init__(host, port, timeout=self.left())

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), self.left(), self.source_address)
        if self._tls is None:
            return sock
        sock.settimeout(self.left())  # CPython's TLS handshake takes the socket timeout as its total
        return self._tls.wrap_socket(sock, server_hostname=self._host)  # type: ignore[attr-defined]

    def getreply(self) -> tuple[int, bytes]:
        if self.file is None and self.sock is not None:  # a new connection, or the TLS one after STARTTLS
            self.file = deadline_reader(self.sock, self.deadline)
        return super().getreply()

    def send(self, s: Any) -> None:
        if self.sock is not None:
            try:
                self.sock.settimeout(self.left())  # sendall's timeout is a total: the write ends by the deadline
            except TimeoutError:
                self.close()
                raise smtplib.SMTPServerDisconnected("timed out") from None
        super().send(s)
        if self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.handed_over = True

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)
        finally:
            self._in_data = False


def _timed_out(exc: BaseException, deadline: float) -> bool:
    """Whether a failure is the deadline's doing: smtplib reports a timed-out read as a disconnection, with the
    TimeoutError as its context."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return time.monotonic() >= deadline


def _unconfirmed(where: str, exc: BaseException, timeout: float, deadline: float) -> Unconfirmed:
    if _timed_out(exc, deadline):
        problem = f"gave no answer to the message within {timeout:g}s"
    elif isinstance(exc, smtplib.SMTPServerDisconnected):
        problem = "closed the connection without answering the message"
    elif isinstance(exc, smtplib.SMTPResponseException):
        answer = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        problem = f"answered the message with {' '.join(f'{exc.smtp_code} {answer}'.split())[:200]!r}"
    else:
        problem = f"did not answer the message ({exc.__class__.__name__}: {exc})"
    return Unconfirmed(f"{where} {problem}: it may have been delivered; not resent")


def _quit(conn: _Session) -> None:
    """Say goodbye, within what is left of the deadline. Whatever happens here changes nothing: the server
    has answered the message (or the failure before was already decided)."""
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def send_message(cfg: SmtpConfig, message: bytes, recipients: Sequence[str]) -> None:
    """Mail `message` within `cfg.timeout` seconds in all. Raises SendError (not taken: retry), Unconfirmed (sent,
    never answered: do not retry) or PartialDelivery (taken for some recipients)."""
    if not recipients:
        raise SendError("no recipients configured")
    password = None
    if cfg.user:
        if not cfg.password_env or os.environ.get(cfg.password_env) is None:
            raise SendError(
                f"SMTP user {cfg.user!r} set but the environment variable "
                f"{cfg.password_env or '(smtp.password_env)'} holding the password is not"
            )
        password = os.environ[cfg.password_env]
    context = ssl.create_default_context()
    where = f"{cfg.host}:{cfg.port}"
    deadline = time.monotonic() + cfg.timeout
    conn: _Session | None = None
    try:
        conn = _Session(cfg.host, cfg.port, deadline=deadline, tls=context if cfg.security == "ssl" else None)
        if cfg.security == "starttls":
            conn.starttls(context=context)
        if cfg.user and password is not None:
            conn.login(cfg.user, password)
        refused = conn.sendmail(parseaddr(cfg.sender)[1], [parseaddr(r)[1] for r in recipients], message)
    except smtplib.SMTPRecipientsRefused as exc:
        permanent = all(code >= 500 for code, _ in exc.recipients.values())
        raise SendError(f"every recipient was refused: {', '.join(exc.recipients)}", permanent=permanent) from None
    except smtplib.SMTPResponseException as exc:
        if conn is not None and conn.handed_over and not 400 <= exc.smtp_code < 600:
            raise _unconfirmed(where, exc, cfg.timeout, deadline) from None
        answer = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        about_message = isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError)
        raise SendError(
            f"SMTP {exc.smtp_code}: {answer}", permanent=about_message and 500 <= exc.smtp_code < 600
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        if conn is not None and conn.handed_over:
            raise _unconfirmed(where, exc, cfg.timeout, deadline) from None
        if _timed_out(exc, deadline):
            raise SendError(f"cannot deliver via {where}: timed out after {cfg.timeout:g}s") from None
        raise SendError(f"cannot deliver via {where}: {exc.__class__.__name__}: {exc}") from None
    finally:
        if conn is not None:
            _quit(conn)
    if refused:
        # Accepted for some: the issue counts as sent (resending would duplicate it for the others).
        raise PartialDelivery(", ".join(refused))
