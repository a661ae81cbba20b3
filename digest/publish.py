"""Publishing one issue: compose it, make its e-mail, hand it to the delivery, record it; one store transaction.

The application's step (below app.py, above the stages): compose/ says what is in an issue, deliver/ makes the
message and writes the files, store/ records it. Holding the digest's lock and the transaction here is what makes
an issue either recorded with its items claimed, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from digest.compose.issue import draft_issue, section_of_item
from digest.deliver.email import build_message, new_message_id
from digest.deliver.files import staged
from digest.store import digests as store
from digest.store.repository import session

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from digest.compose.render import Rendered
    from digest.compose.select import Selection
    from digest.compose.view import DigestView
    from digest.config import DigestConfig, SmtpConfig


@dataclass(frozen=True)
class Composed:
    view: DigestView
    rendered: Rendered
    message: bytes
    message_id: str
    selection: Selection
    issue_id: int | None
    status: str | None  # pending (to be mailed) | sent (files were its delivery) | None (not recorded)
    window_start: datetime | None = None
    newest_item: datetime | None = None  # when empty: the newest item stored for this digest, however old

    @property
    def empty(self) -> bool:
        return self.selection.empty


def compose_issue(
    engine: Engine,
    cfg: DigestConfig,
    smtp: SmtpConfig,
    *,
    now: datetime,
    since: datetime | None = None,
    theme: str | None = None,
    record: bool = True,
    out_dir: Path | None = None,
    deliver: Callable[[Composed], None] | None = None,
    mark_empty: bool = False,
) -> Composed:
    """The next issue of `cfg` (or, with `since`, a view of everything since then, never recorded).

    `deliver` runs inside the store transaction, before the issue is recorded: if writing files fails,
    the items stay unclaimed and the next compose picks them up again. What it writes to `out_dir` (through
    deliver/files.write_issue) is held in a staging folder until the transaction has committed, so a compose
    killed before its commit leaves no issue folder the store does not know. With `mark_empty`, an issue with
    nothing in it is recorded as `empty` (never mailed or archived) so that a schedule slot with no
    news counts as served; otherwise nothing is recorded for it.
    """
    record = record and since is None
    with staged(out_dir), session(engine) as s, s.begin(), store.read_once(s):
        if record:
            store.hold_digest(s, cfg.name)
        draft = draft_issue(s, cfg, now=now, since=since, theme=theme)
        view, rendered, selection = draft.view, draft.rendered, draft.selection
        message_id = new_message_id(smtp.sender)
        message = build_message(
            subject=view.subject,
            html=rendered.html,
            text=rendered.text,
            sender=smtp.sender,
            to=cfg.list_address,
            now=now,
            message_id=message_id,
            list_name=cfg.name,
            list_id=cfg.list_id,
            unsubscribe=cfg.unsubscribe,
        )
        composed = Composed(
            view=view,
            rendered=rendered,
            message=message,
            message_id=message_id,
            selection=selection,
            issue_id=None,
            status=None,
            window_start=draft.window_start,
            newest_item=draft.newest,
        )
        if deliver is not None:
            deliver(composed)
        if not record or (composed.empty and not mark_empty):
            return composed
        status = "empty" if composed.empty else ("pending" if cfg.recipients else "sent")
        issue = store.record_issue(
            s,
            store.IssueRecord(
                name=cfg.name,
                theme=draft.theme,
                created_at=now,
                window_start=draft.window_start,
                subject=view.subject,
                status=status,
                html=rendered.html,
                text=rendered.text,
                message=message.decode("utf-8"),
                message_id=message_id,
                recipients=cfg.recipients,
                out_dir=str(out_dir) if out_dir and not composed.empty else None,
                item_entries=[(item_id, section_of_item(selection, item_id)) for item_id in selection.consumed_items],
                paper_entries=[(c.paper.id, c.section, c.paper.mentions, c.is_update) for c in selection.papers],
                post_count=len(
                    selection.posts
                ),  # as its masthead counts them: a listing's entry is a paper, not a post
            ),
        )
    return replace(composed, issue_id=issue.id, status=status)
