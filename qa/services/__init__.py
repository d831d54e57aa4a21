"""Quality write actions: gold records, rules, consensus (computed), spot-check reviews
and disputes. Cross-app sequences (grade -> aggregate -> finalise, verdict -> decide ->
pay) are in the ``flows`` package."""
from .consensus import (
    Consensus,
    agreement_record,
    items_results,
    project_refined_results,
    tasks_consensus,
)
from .disputes import dispute_conclude, dispute_open, dispute_resolve_check
from .grading import (assignment_returned_record, gold_count_write, gold_judge,
                      gold_judge_inline, gold_record)
from .reviews import (
    review_claim,
    review_close_if_decided,
    review_conclude,
    review_maybe_request,
    review_request,
    review_verdict_check,
    reviewer_grant,
)
from .rules import suspension_lift

__all__ = [
    "Consensus", "agreement_record", "assignment_returned_record", "dispute_conclude",
    "dispute_open", "dispute_resolve_check", "gold_count_write", "gold_judge",
    "gold_judge_inline", "gold_record", "items_results",
    "project_refined_results", "review_claim", "review_close_if_decided",
    "review_conclude", "review_maybe_request", "review_request", "review_verdict_check", "reviewer_grant",
    "suspension_lift", "tasks_consensus",
]
