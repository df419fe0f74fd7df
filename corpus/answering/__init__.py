"""Stages 6 and 7: a question analysed, candidate sentences scored by the learned answer model,
the decision whether the articles answer, and extractive summaries."""
