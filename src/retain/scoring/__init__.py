"""Customer value scores from the fitted models: who is alive, what each is worth, who slips."""

from retain.scoring.customer_scores import CANDIDATES, RISK_BANDS, Scores, score_customers

__all__ = ["CANDIDATES", "RISK_BANDS", "Scores", "score_customers"]
