"""Business rules as plain functions. They flush but never commit: the request,
job or CLI command that calls them owns the one commit or rollback."""


from portal.errors import NotFound


def load_visible(model: type, row_id, actor, what: str, **details):
    """The row the actor may see, or NotFound("No such <what>.") for the service's caller."""
    from portal import policies

    row = policies.find_visible(model, row_id, actor)
    if row is None:
        raise NotFound(f"No such {what}.", **details)
    return row
