from datetime import UTC, datetime

import pytest

from portal.domain.schedule_words import cron_in_words, next_cron_run, time_until

NOW = datetime(2030, 1, 7, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize("cron, words", [
    ("0 2 * * *", "daily at 02:00 UTC"), ("30 3 * * *", "daily at 03:30 UTC"), ("* * * * *", "every minute"),
    ("*/15 * * * *", "every 15 minutes"), ("0 9 * * 1", "cron 0 9 * * 1 (UTC)"),
])
def test_cron_lines_in_words(cron, words):
    assert cron_in_words(cron) == words


@pytest.mark.parametrize("cron, left", [
    ("0 2 * * *", "in 5 h"), ("30 21 * * *", "in 30 min"), ("10 22 * * *", "in 1 h 10 min"),
    ("* * * * *", "in 1 min"),
])
def test_the_next_run_in_words(cron, left):
    assert time_until(next_cron_run(cron, NOW), NOW) == left
