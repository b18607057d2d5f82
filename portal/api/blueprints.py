"""The list of API blueprints. Each feature adds its module here."""
from __future__ import annotations


def all_blueprints():
    from portal.api import audit, me

    return [me.blp, audit.blp]
