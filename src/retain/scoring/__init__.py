"""Customer value scores from the fitted models: who is alive, what each is worth, who slips."""

from retain.scoring.customer_scores import (
    CANDIDATES,
    MIN_REPEAT_BUYERS,
    MIN_WINDOW_DAYS,
    RISK_BANDS,
    Scores,
    score_customers,
    scores_without_models,
)
from retain.scoring.notes import Fallback, ModelsRefused
from retain.scoring.spend import MIN_SPEND_BUYERS

__all__ = [
    "CANDIDATES",
    "MIN_REPEAT_BUYERS",
    "MIN_SPEND_BUYERS",
    "MIN_WINDOW_DAYS",
    "RISK_BANDS",
    "Fallback",
    "ModelsRefused",
    "Scores",
    "score_customers",
    "scores_without_models",
]
