"""Hand a message to an SMTP server (STARTTLS, SSL or plain on loopback). The password comes from the environment."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Sequence
from email.utils import parseaddr

from digest.config import SmtpConfig


class SendError(Exception):
    """The server did not accept the message; the issue stays pending and is retried next run."""


class PartialDelivery(Exception):
    """The server accepted the message for some recipients and refused the listed others."""


def send_message(cfg: SmtpConfig, message: bytes, recipients: Sequence[str]) -> None:
    if not recipients:
        raise SendError("no recipients configured")
    password = None
    if cfg.user:
        if not cfg.password_env or os.environ.get(cfg.password_env) is None:
            raise SendError(f"SMTP user {cfg.user!r} set but the environment variable "
                            f"{cfg.password_env or '(smtp.password_env)'} holding the password is not")
        password = os.environ[cfg.password_env]
    context = ssl.create_default_context()
    try:
        if cfg.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
        else:
            conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        with conn:
            if cfg.security == "starttls":
                conn.starttls(context=context)
            if cfg.user and password is not None:
                conn.login(cfg.user, password)
            refused = conn.sendmail(parseaddr(cfg.sender)[1], [parseaddr(r)[1] for r in recipients], message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"every recipient was refused: {', '.join(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        raise SendError(f"SMTP {exc.smtp_code}: {exc.smtp_error.decode(errors='replace')}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"cannot deliver via {cfg.host}:{cfg.port}: {exc.__class__.__name__}: {exc}") from None
    if refused:
        # Accepted for some: the issue counts as sent (resending would duplicate it for the others).
        raise PartialDelivery(", ".join(refused))
