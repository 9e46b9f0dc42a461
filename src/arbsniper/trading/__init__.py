"""Strategy runner and execution (SPEC §8): paper by default, live through ccxt on request.

``runner.Runner`` validates, sizes and trades signals; ``paper.PaperExecutor`` fills against the
live book; ``live.LiveExecutor`` sends real orders through ccxt; ``risk`` holds the limits and the
kill switch; ``ledger.Ledger`` keeps orders, fills, trades and balances durable in SQLite.
"""
