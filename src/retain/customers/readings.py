"""Each score of a customer read out in one plain line, in the reader's language: what the
number says about this person, with the facts of their orders behind it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from retain.customers.models import Score
from retain.customers.profile import OrderFacts
from retain.scoring import RISK_BANDS

#: What each RFM segment means (:mod:`retain.analytics.segments`).
SEGMENT_MEANINGS = {
    "champions": gettext_lazy("bought recently, buy often and spend the most"),
    "loyal customers": gettext_lazy("buy often; ordered within the year"),
    "potential loyalists": gettext_lazy("recent customers with a few orders: could become loyal"),
    "new customers": gettext_lazy("their first and only order was very recent"),
    "promising": gettext_lazy("one recent order: worth a second nudge"),
    "need attention": gettext_lazy("a few orders, the last one a while ago"),
    "about to sleep": gettext_lazy("one or two orders, none lately: slipping out of touch"),
    "at risk": gettext_lazy("used to order several times, silent for long"),
    "can't lose them": gettext_lazy("used to order the most, silent for long: win them back"),
    "hibernating": gettext_lazy("one or two orders, long ago"),
    "lost": gettext_lazy("one or two orders, the longest ago of all"),
}
#: What each lifecycle stage means (:mod:`retain.analytics.lifecycle`, months).
STAGE_MEANINGS = {
    "new": gettext_lazy("ordered this month, for the first time"),
    "active": gettext_lazy("ordered this month and the month before"),
    "returning": gettext_lazy("ordered this month after a short pause"),
    "reactivated": gettext_lazy("came back this month after 3 months or more away"),
    "at risk": gettext_lazy("no order this month; the last one less than 3 months ago"),
    "dormant": gettext_lazy("the last order 3 to 5 months ago"),
    "churned": gettext_lazy("the last order 6 months ago or more"),
}
RISK_NAMES = {
    "high": gettext_lazy("High"),
    "medium": gettext_lazy("Medium"),
    "low": gettext_lazy("Low"),
}


@dataclass(frozen=True)
class Reading:
    """One score: its name, its value as shown, and the line that reads it."""

    label: str
    value: str
    reading: str


def _locale() -> str:
    return translation.to_locale(translation.get_language() or settings.LANGUAGE_CODE)


def _percent(value: float) -> str:
    return format_percent(value, locale=_locale())


def _number(value: float, digits: int = 1) -> str:
    return format_decimal(value, format="#,##0." + "0" * digits, locale=_locale())


#: The unit a length of time is said in: below 14 days in days, below 60 in weeks, below two
#: years in months (``14 months``, as people say it), then in years.
_UNITS = ((14, "day"), (60, "week"), (730, "month"), (float("inf"), "year"))


def _span(days: float) -> str:
    """``14 months``, ``2 weeks``: a length of time in words, in the unit people use."""
    unit = next(name for below, name in _UNITS if days < below)
    return format_timedelta(
        dt.timedelta(days=days), granularity=unit, threshold=float("inf"), locale=_locale()
    )


def _day(day: dt.date) -> str:
    return format_date(day, format="medium", locale=_locale())


def unscored_reading(facts: OrderFacts, set_aside: str | None) -> str:
    """Why a customer has no scores, in words."""
    if set_aside is not None:
        return _("Not scored: the last rescoring set this customer aside (%(reason)s).") % {
            "reason": set_aside
        }
    if facts.orders == 0:
        return _("No order yet: the scores come with the first paid order.")
    if facts.counted == 0:
        return (
            _(
                "Their only order does not count (refunded, cancelled or unpaid): nothing to "
                "score yet."
            )
            if facts.orders == 1
            else _(
                "None of their %(orders)s orders counts (refunded, cancelled or unpaid): nothing "
                "to score yet."
            )
            % {"orders": facts.orders}
        )
    return _("Not scored yet: the next rescoring scores this customer.")


def score_readings(
    score: Score, facts: OrderFacts, *, today: dt.date | None = None
) -> list[Reading]:
    """The readings of every score, in the order a CRM person scans them."""
    today = today or timezone.now().date()
    return [
        Reading(_("P(alive)"), _percent(score.p_alive), _alive(score, facts, today)),
        Reading(
            _("Expected orders"),
            _number(score.expected_purchases_365d),
            _expected(score),
        ),
        Reading(
            _("Predicted 12-month value"),
            format_currency(score.clv_12m, settings.RETAIN_CURRENCY, locale=_locale()),
            _value(score, facts),
        ),
        Reading(
            _("Churn risk"), str(RISK_NAMES.get(score.churn_risk, score.churn_risk)), _risk(score)
        ),
        Reading(_("RFM segment"), score.rfm_segment or "\u2013", _segment(score)),
        Reading(_("Lifecycle stage"), score.lifecycle_stage or "\u2013", _stage(score)),
    ]


def _alive(score: Score, facts: OrderFacts, today: dt.date) -> str:
    low, high = RISK_BANDS
    if score.p_alive < low:
        verdict = _("Likely lapsed")
    elif score.p_alive < high:
        verdict = _("May be slipping away")
    else:
        verdict = _("Likely still a customer")
    if not facts.days:
        return verdict
    since = _span((today - facts.days[-1]).days)
    gap = facts.typical_gap_days
    if gap is None:
        history = _("bought once, %(since)s ago; no repeat order yet to learn a rhythm from") % {
            "since": since
        }
    else:
        history = _("last order %(since)s ago, usually orders every %(gap)s") % {
            "since": since,
            "gap": _span(gap),
        }
    line = _("%(verdict)s — %(history)s") % {"verdict": verdict, "history": history}
    if facts.left_out:
        line += " " + ngettext(
            "(%(count)s refunded or cancelled order not counted)",
            "(%(count)s refunded or cancelled orders not counted)",
            facts.left_out,
        ) % {"count": facts.left_out}
    return line


def _expected(score: Score) -> str:
    numbers = {
        "d30": _number(score.expected_purchases_30d),
        "d90": _number(score.expected_purchases_90d),
        "d365": _number(score.expected_purchases_365d),
    }
    line = _("About %(d30)s orders in the next 30 days, %(d90)s in 90 days, %(d365)s in a year")
    line = line % numbers
    if score.next_order_date:
        return (
            line
            + "; "
            + _("a next order as likely as not by %(day)s") % {"day": _day(score.next_order_date)}
        )
    return line + "; " + _("a next order is less likely than not ever to come")


def _value(score: Score, facts: OrderFacts) -> str:
    if score.clv_12m == 0 and facts.counted and facts.zero_value == facts.counted:
        return _("Nothing expected: every order so far was free (a value of 0).")
    if score.value_decile >= 10:
        rank = _("among the top tenth of customers by predicted value")
    elif score.value_decile <= 1:
        rank = _("among the lowest tenth of customers by predicted value")
    else:
        rank = _("value decile %(decile)s of 10 (10 is the most valuable tenth)") % {
            "decile": score.value_decile
        }
    return _("What they are expected to spend over the next 12 months; %(rank)s.") % {"rank": rank}


def _risk(score: Score) -> str:
    low, high = RISK_BANDS
    if score.churn_risk == "high":
        return _("P(alive) below %(low)s: win them back before they are gone.") % {
            "low": _percent(low)
        }
    if score.churn_risk == "medium":
        return _("P(alive) between %(low)s and %(high)s: worth a reminder.") % {
            "low": _percent(low),
            "high": _percent(high),
        }
    return _("P(alive) %(high)s or more: they are still buying.") % {"high": _percent(high)}


def _segment(score: Score) -> str:
    meaning = SEGMENT_MEANINGS.get(score.rfm_segment)
    if not score.rfm_segment or meaning is None:
        return _("No RFM segment.")
    line = str(meaning)
    if score.rfm_score and len(score.rfm_score) == 3:
        recency, frequency, monetary = score.rfm_score
        line += " " + _("(recency %(r)s, frequency %(f)s, money %(m)s, each from 1 to 5)") % {
            "r": recency,
            "f": frequency,
            "m": monetary,
        }
    return line


def _stage(score: Score) -> str:
    meaning = STAGE_MEANINGS.get(score.lifecycle_stage)
    return str(meaning) if meaning is not None else _("No lifecycle stage.")
