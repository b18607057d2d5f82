"""Web plumbing shared by every page: role blueprints, page rendering, templating, errors, refusal audit, security headers, monitoring, health."""
