"""The experiments: named optimizers and schedules (`choices`), recipes (`recipes`), the one learner
builder and evaluator (`builder`), a training run as steps (`train`), the comparison grid
(`compare`) and the spreadsheet's linear model solved by the torch optimizers (`linreg`)."""
