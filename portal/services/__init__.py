"""Business rules as plain functions. They flush but never commit: the request,
job or CLI command that calls them owns the one commit or rollback."""
