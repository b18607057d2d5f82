"""The portal's clock: blocks that pin "now" in several threads at once leave nothing pinned."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

from portal import clock

PINNED = datetime(2027, 1, 4, 2, tzinfo=UTC)


def test_blocks_in_two_threads_ending_in_the_order_they_began_leave_the_clock_free():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first():
        with clock.frozen(PINNED):
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with clock.frozen(PINNED):
            second_in.set()
            first_out.wait(5)
            seen.append(clock.now())  # its own block still holds
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert seen == [PINNED]
    assert clock.now() != PINNED and abs((clock.now() - datetime.now(UTC)).total_seconds()) < 60


def test_an_inner_block_gives_the_outer_ones_time_back():
    with clock.frozen(PINNED):
        with clock.frozen(datetime(2030, 1, 1, tzinfo=UTC)):
            assert clock.now().year == 2030
        assert clock.now() == PINNED
