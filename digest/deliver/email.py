"""Build the issue as an e-mail: multipart/alternative (text, then HTML) with list headers. No I/O."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rsplit("@", 1)[1] if "@" in address else "localhost"


def new_message_id(sender: str) -> str:
    return make_msgid(idstring="digest", domain=_domain(sender))


def build_message(
    *,
    subject: str,
    html: str,
    text: str,
    sender: str,
    to: str | None,
    now: datetime,
    message_id: str,
    list_name: str,
    list_id: str | None = None,
    unsubscribe: str | None = None,
) -> bytes:
    """`to`: the digest's list address (default: the sender). The recipients are never in the message: they
    go in the SMTP envelope only (deliver/smtp.send_message), as a mailing list sends, so that no reader
    learns the others' addresses; one message serves them all."""
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to or sender
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["List-Id"] = f"{list_name} <{list_id or f'{list_name}.digest.{_domain(sender)}'}>"
    if unsubscribe:
        target = unsubscribe if unsubscribe.startswith(("mailto:", "http://", "https://")) else f"mailto:{unsubscribe}"
        msg["List-Unsubscribe"] = f"<{target}>"
        if target.startswith("https://"):
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg.as_bytes()
