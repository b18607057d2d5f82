"""Web plumbing shared by every page: role blueprints, rendering, templating, errors,
refusal audit, security headers, monitoring and the health check."""
