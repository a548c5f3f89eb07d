"""One clock per object: the next thing that happens to it by itself, and when.

Each model computes its clock in one place (``orders.selectors.auto_action``,
``disputes.selectors.auto_action``, ``payouts.selectors.store_auto_action`` and
``hold_auto_action``), from the object and the settings only, and the deadline jobs pick their
rows with the same moments, so the time shown is the time the job acts: one second before it
nothing happens, from it on the job does it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

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
