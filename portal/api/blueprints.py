"""The list of API blueprints. Each feature adds its module here."""
from __future__ import annotations


def all_blueprints():
    from portal.api import me, recurring

    return [me.blp, recurring.blp]
