"""Reads of user accounts, scoped through policies.UserPolicy."""
from __future__ import annotations

import sqlalchemy as sa

from portal import policies
from portal.extensions import db
from portal.models import ROLES, User

PAGE_SIZE = 25


def users_search(*, actor: User, query: str = "", role: str | None = None, page: int = 1,
                 per_page: int = PAGE_SIZE) -> tuple[list[User], int]:
    """Users visible to the actor whose e-mail or name contains `query`, and the total."""
    where = [policies.visible(User, actor)]
    if query:
        pattern = f"%{query.strip().lower()}%"
        where.append(sa.or_(User.email_normalized.like(pattern), sa.func.lower(User.display_name).like(pattern)))
    if role in ROLES:
        where.append(User.role == role)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(*where)) or 0
    rows = db.session.scalars(
        sa.select(User).where(*where).order_by(User.display_name, User.id)
        .offset((max(page, 1) - 1) * per_page).limit(per_page)
    )
    return list(rows), total
