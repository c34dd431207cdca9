"""State changes of teams, memberships and maps. Each is one transaction."""

from __future__ import annotations

import uuid

from django.db import transaction

from collab.models import Membership, Mindmap, Node, Team
from project.accounts.models import User

ROOT_TITLE = "Central topic"


def team_create(*, name: str, owner: User) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name)
        Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    return team


def membership_ensure(*, team: Team, user: User, role: str = Membership.Role.MEMBER
                      ) -> Membership:
    """Add `user` to `team` (idempotent); an existing membership keeps its role."""
    membership, _ = Membership.objects.get_or_create(team=team, user=user,
                                                     defaults={"role": role})
    return membership


def map_create(*, team: Team, title: str, actor: User | None) -> Mindmap:
    """A new map always has its one root node, so no client ever sees an empty tree."""
    with transaction.atomic():
        mindmap = Mindmap.objects.create(team=team, title=title, created_by=actor)
        Node.objects.create(map=mindmap, node_id=uuid.uuid4(), parent_id=None,
                            title=title or ROOT_TITLE)
    return mindmap
