"""Background work: RQ jobs (jobs.py), the queue (queue.py), the schedule (schedule.py)."""
