"""Work off the GUI thread: the worker (the library's one writer and the model's owner), the
WorkerHost the window talks to it through, and the read-only QueryRunner."""
