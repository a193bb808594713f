"""User operations: the one place where the CLI and the GUI change a library.

Every write operation runs in its own transaction (core/library/transaction.py) and returns
what changed (changes.OpChanges). Adding an operation means adding a method here (LibraryOps
and the module it delegates to); the CLI calls it directly, the GUI through
WorkerHost.run_op, which runs it in the worker thread. See docs/architecture.md.
"""
