"""Deliver pending issues exactly once: pending -> sending -> sent, each step committed before the next.

An issue is marked `sending` (with its Message-ID) before it goes to the server and `sent` only after
the server accepted it. A failure before the message went out whole, or an explicit 4xx/5xx answer to it,
puts it back to `pending`, retried next run; the third 5xx refusal of the message itself makes it `failed`
(a permanent refusal retried every run would never end). A crash between the server's acceptance and the
bookkeeping leaves it `sending`: the next run cannot know whether it went out, so it is marked `unconfirmed`
and never sent again automatically (at most once; `digest send --resend-unconfirmed` re-queues it on
purpose). A send that handed the whole message over and then got no answer (a timeout, a dropped
connection) is in the same position, and is marked `unconfirmed` at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from digest.config import SmtpConfig
from digest.deliver.smtp import PartialDelivery, SendError, Unconfirmed, send_message
from digest.store import digests as store
from digest.store.repository import session

if TYPE_CHECKING:
    from sqlalchemy import Engine


UNCONFIRMED = "a previous run stopped after handing it to the SMTP server; not resent"
# A message the server refuses for good (5xx) this many runs is given up: `failed`, no longer retried.
MAX_REFUSALS = 3


def _resend_hint(name: str) -> str:
    return f"('digest send {name} --resend-unconfirmed' sends it again)"


@dataclass(frozen=True)
class Delivery:
    issue_id: int
    subject: str
    outcome: str  # sent | failed | unconfirmed | requeued
    detail: str | None = None


def reconcile(engine: Engine, name: str, now: datetime) -> list[Delivery]:
    out = []
    with session(engine) as s, s.begin():
        for issue in store.issues_in_state(s, name, "sending"):
            store.set_state(s, issue.id, "unconfirmed", now=now, error=UNCONFIRMED)
            out.append(Delivery(issue.id, issue.subject or "", "unconfirmed", f"{UNCONFIRMED} {_resend_hint(name)}"))
    return out


def requeue_unconfirmed(engine: Engine, name: str, now: datetime) -> list[Delivery]:
    with session(engine) as s, s.begin():
        issues = store.issues_in_state(s, name, "unconfirmed")
        for issue in issues:
            store.set_state(s, issue.id, "pending", now=now)
    return [Delivery(i.id, i.subject or "", "requeued") for i in issues]


def send_pending(engine: Engine, name: str, smtp: SmtpConfig, now: datetime) -> list[Delivery]:
    results = reconcile(engine, name, now)
    with session(engine) as s:
        pending = [
            (i.id, i.subject or "", i.message, list(i.recipients or ()))
            for i in store.issues_in_state(s, name, "pending")
        ]
    for issue_id, subject, message, recipients in pending:
        if not message:
            with session(engine) as s, s.begin():
                store.set_state(s, issue_id, "pending", now=now, error="no message was stored for this issue")
            results.append(Delivery(issue_id, subject, "failed", "no message stored"))
            continue
        with session(engine) as s, s.begin():
            # A claim: if another process took this issue since we listed it, it is not ours to send.
            claimed = store.set_state(s, issue_id, "sending", now=now, attempt=True, expect="pending")
        if not claimed:
            continue
        try:
            send_message(smtp, message.encode("utf-8"), recipients)
        except PartialDelivery as exc:
            with session(engine) as s, s.begin():
                store.set_state(s, issue_id, "sent", now=now, error=f"refused by the server: {exc}")
            results.append(Delivery(issue_id, subject, "sent", f"some recipients refused: {exc}"))
            continue
        except Unconfirmed as exc:  # the server may have it: like a crash after handing it over, never resent
            with session(engine) as s, s.begin():
                store.set_state(s, issue_id, "unconfirmed", now=now, error=str(exc))
            results.append(Delivery(issue_id, subject, "unconfirmed", f"{exc} {_resend_hint(name)}"))
            continue
        except SendError as exc:
            error = str(exc)
            with session(engine) as s, s.begin():
                if exc.permanent and store.count_refusal(s, issue_id) >= MAX_REFUSALS:
                    error = f"{exc} (refused {MAX_REFUSALS} times: given up, not retried)"
                    store.set_state(s, issue_id, "failed", now=now, error=error)
                else:
                    store.set_state(s, issue_id, "pending", now=now, error=error)
            results.append(Delivery(issue_id, subject, "failed", error))
            continue
        with session(engine) as s, s.begin():
            store.set_state(s, issue_id, "sent", now=now)
        results.append(Delivery(issue_id, subject, "sent"))
    return results
