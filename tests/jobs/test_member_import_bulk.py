"""The import's bulk path (COPY with reserved ids on PostgreSQL, bulk_create elsewhere)
with every kind of row at once: new, existing (linked), already a member, repeated,
an account an earlier attempt created and could not invite, a deleted account's
name; and the statistics refresh after a large import."""

import pytest
from django.core import mail

from collab.actions import membership_ensure, team_create
from collab.models import Membership
from media_pipeline.members import import_job
from project.accounts.actions import user_soft_delete, users_bulk_create
from project.accounts.models import User
from tests.jobs import sheets
from tests.jobs.test_member_import import run_import

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.usefixtures("local_storage")]


def test_new_existing_repeated_and_waiting_rows_in_one_file(client, alice, bob, make_user,
                                                           tmp_path, monkeypatch):
    team = team_create(owner=alice, name="Crew")
    carol = make_user("carol")
    membership_ensure(team=team, user=carol)
    waiting = users_bulk_create(accounts=[("wendy", "wendy@example.com", "Wendy")])["wendy"]
    gone = make_user("gone")
    user_soft_delete(user=gone)
    analyzed = []
    monkeypatch.setattr(import_job, "ANALYZE_AFTER", 2)
    monkeypatch.setattr(import_job, "analyze", lambda *models: analyzed.append(models))
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [
        ["new1", "new1@example.com", "New One", "owner"],       # row 2: created
        ["BOB", bob.email.upper(), "", ""],                     # row 3: linked
        ["carol", carol.email, "", "owner"],                    # row 4: already a member
        ["new1", "other@example.com", "", ""],                  # row 5: repeats row 2
        ["wendy", "wendy@example.com", "", ""],                 # row 6: linked, waiting
        ["gone", "gone-again@example.com", "", ""],             # row 7: a deleted name
        ["new2", "NEW1@example.com", "", ""],                   # row 8: repeats row 2's email
    ])
    job = run_import(client, team, path)
    assert job.status == "DONE", job.error_message
    assert job.result["counts"] == {"created": 2, "linked": 2, "already_members": 1,
                                    "rejected": 2}
    assert [row["row"] for row in job.result["rejected"]] == [5, 8]
    roles = dict(Membership.objects.filter(team=team).values_list("user__username", "role"))
    assert roles == {"alice": "owner", "new1": "owner", "bob": "member", "carol": "member",
                     "wendy": "member", "gone": "member"}
    new_gone = User.objects.live().get(username="gone")
    assert new_gone.pk != gone.pk and not new_gone.has_usable_password()
    # The new accounts and the one an earlier attempt left waiting are invited; the
    # existing account that was invited long ago is not.
    assert sorted(message.to[0] for message in mail.outbox) == [
        "gone-again@example.com", "new1@example.com", "wendy@example.com"]
    assert job.result["invitations_sent"] == 3
    assert not User.objects.filter(pk=waiting, invitation_pending=True).exists()
    assert len(analyzed) == 1  # 2 created: the statistics are refreshed once


def test_a_name_holding_a_nul_is_rejected_as_its_row_not_the_whole_import(client, alice,
                                                                         tmp_path):
    """Excel writes a NUL as _x0000_ and the reader unescapes it; PostgreSQL stores no
    NUL, so the COPY failed and with it every attempt of the job."""
    team = team_create(owner=alice, name="Crew")
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [
        ["nul", "nul@example.com", "a_x0000_b", ""],
        ["fine", "fine@example.com", "back\\slash\ttab \\N", ""]])
    job = run_import(client, team, path)
    assert job.status == "DONE", job.error_message
    assert [(row["row"], row["errors"]) for row in job.result["rejected"]] == [
        (2, {"name": "must not hold a NUL character"})]
    assert User.objects.get(username="fine").display_name == "back\\slash\ttab \\N"
