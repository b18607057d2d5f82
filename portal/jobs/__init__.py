"""Background jobs as the web app sees them: the queue it enqueues on (by dotted name) and the schedule it declares."""
