"""Is it catchable? Backtests on recordings, a report on history, and the capture estimator."""
