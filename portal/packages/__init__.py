"""Package pages shared by the specialist's and the admin's views (the management panel)."""
