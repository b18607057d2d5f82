"""Background jobs: the jobs themselves (tasks.py), the queue (queue.py), the schedule (schedule.py),
the worker class (worker.py), its commands (cli.py), the in-process scheduler of the embedded
default (embedded.py) and delivery on commit (delivery.py)."""
