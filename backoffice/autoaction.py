"""One clock per object: the next thing that happens to it by itself, and when.

Each model computes its clock in one place (``orders.selectors.auto_action``,
``disputes.selectors.auto_action``, ``payouts.arrears.store_auto_action`` and
``hold_auto_action``), from the object and the settings only, and the deadline jobs pick their
rows with the same moments, so the time shown is the time the job acts: one second before it
nothing happens, from it on the job does it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext

from backoffice import clock

SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class AutoAction:
    at: datetime
    description: str
    # False for a deadline people owe (arbitration's service level): shown with the others,
    # but nothing happens by itself when it passes.
    automatic: bool = True


def first_second_after(moment: datetime) -> datetime:
    """The first whole second strictly after ``moment``: when a rule that acts once *more
    than* a period has passed ("arrears unpaid for more than 3 days") acts, as a clock shows
    it. At ``moment`` itself the rule does not act yet."""
    return moment.replace(microsecond=0) + SECOND


def humanize(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{max(seconds // 60, 1)} min"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def due_text(action: AutoAction | None, now: datetime) -> str:
    """The action relative to ``now`` ("cancel (not paid in time) in 3 days", "… overdue by
    2 h"), as the admin lists show it; empty when nothing is pending."""
    if action is None:
        return ""
    if action.at <= now:
        return f"{action.description}: overdue by {humanize(now - action.at)}"
    return f"{action.description} in {humanize(action.at - now)}"


def next_action_cell(action: AutoAction | None) -> SafeString | str:
    """An admin list's "next automatic action" cell: the action relative to the clock, with the
    exact moment (UTC) as its tooltip; a dash when nothing is pending."""
    now = clock.now()
    text = due_text(action, now)
    if action is None:
        return "—"
    return due_badge(action.at, now, f"{action.at:%Y-%m-%d %H:%M:%S} UTC", text)


def due_badge(at: datetime, now: datetime, title: str, text: str = "") -> SafeString:
    """A deadline as a badge: ``due-overdue`` (red) once passed, ``due-soon`` (amber) within
    24 h, plain later; ``data-due`` carries the state for tests in any language. ``text``
    defaults to how long ago or how soon."""
    if at <= now:
        state = "overdue"
        text = text or gettext("overdue by %(time)s") % {"time": timesince(at, now)}
    elif at <= now + timedelta(hours=24):
        state = "soon"
        text = text or gettext("in %(time)s") % {"time": timeuntil(at, now)}
    else:
        state, text = "later", text or f"{at:%Y-%m-%d %H:%M}"
    return format_html(
        '<span class="due-badge due-{}" data-due="{}" title="{}">{}</span>',
        state,
        state,
        title,
        text,
    )
