"""What the business does for each customer and when: journeys as versioned documents, the
pure engine that advances an enrolment, the runner that applies its actions, and the holdout
that measures them."""
