"""Pure rules with no database or request: recurrence dates and interval arithmetic,
imported by services and selectors alike."""
