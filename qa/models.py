"""Gold grading, accuracy, aggregation and review arrive with the quality issue."""
