"""Right to erasure and access: ``end_user_erase`` leaves nothing of the user, ``end_user_export`` shows it all."""
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Account, EndUser, EndUserErasure
from analytics.privacy import EndUserNotFound, end_user_erase, end_user_export
from tests.factories import make_application, make_experiment, make_user_with_history

# Tables the builder fills for one user; the generic checks below cover every table, these prove
# the builder gave each of them something to delete.
FILLED = {
    "analytics.event", "analytics.useralias", "analytics.usereventdaily", "analytics.userdayactivity",
    "analytics.stagetransition", "analytics.guidestate", "analytics.checklistitemcompletion",
    "analytics.surveyresponse", "analytics.segmentmembership", "experiments.exposure",
}


def rows_referring_to(user_pk: int) -> dict[str, int]:
    """Rows of every model with a foreign key to EndUser that point at ``user_pk``, by model label."""
    counts = {}
    for relation in EndUser._meta.related_objects:
        model = relation.related_model
        counts[model._meta.label_lower] = model._base_manager.filter(**{relation.field.name: user_pk}).count()
    return counts


@pytest.fixture
def history(application):
    at = timezone.now() - timedelta(days=1)
    experiment = make_experiment(application, start=True)
    alice = make_user_with_history(application, "alice", at=at, experiment=experiment)
    bob = make_user_with_history(application, "bob", at=at, experiment=experiment)
    return alice, bob


def test_end_user_erase__user_with_history__no_row_refers_to_them_in_any_table(application, history):
    alice, _ = history
    before = rows_referring_to(alice.pk)
    assert {label for label, count in before.items() if count} >= FILLED

    result = end_user_erase(application=application, external_id="alice", by="dpo@acme.test")

    assert sum(rows_referring_to(alice.pk).values()) == 0
    assert not EndUser.objects.filter(pk=alice.pk).exists()
    assert result.rows_deleted == {**{label: n for label, n in before.items() if n}, "analytics.enduser": 1}


def test_end_user_erase__other_user__untouched(application, history):
    alice, bob = history
    bob_before = rows_referring_to(bob.pk)
    end_user_erase(application=application, external_id="alice", by="dpo@acme.test")
    assert rows_referring_to(bob.pk) == bob_before
    assert EndUser.objects.get(pk=bob.pk).traits == {"email": "bob@example.test"}
    assert Account.objects.filter(external_id="alice-co").exists()  # the company is not the person


def test_end_user_erase__audit_row__who_when_counts_and_no_personal_data(application, history):
    alice, _ = history
    result = end_user_erase(application=application, external_id="alice", by="dpo@acme.test")
    erasure = EndUserErasure.objects.get()
    assert (erasure.pk, erasure.application_id, erasure.end_user_pk) == (result.erasure_id, application.id, alice.pk)
    assert (erasure.requested_by, erasure.via) == ("dpo@acme.test", EndUserErasure.Via.COMMAND)
    assert erasure.total_rows == result.total_rows == sum(result.rows_deleted.values())
    assert timezone.now() - erasure.erased_at < timedelta(minutes=1)
    stored = repr([(f.name, getattr(erasure, f.attname)) for f in EndUserErasure._meta.fields])
    assert "alice" not in stored and "example.test" not in stored


def test_end_user_erase__log_line__ids_and_counts_without_personal_data(application, history, caplog):
    with caplog.at_level(logging.INFO, logger="analytics"):
        result = end_user_erase(application=application, external_id="alice", by="dpo@acme.test")
    record = next(r for r in caplog.records if r.msg == "user.erased")
    assert (record.erasure_id, record.rows) == (result.erasure_id, result.total_rows)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "alice" not in logged and "example.test" not in logged


def test_end_user_erase__same_id_in_another_application__untouched(application, history):
    other = make_application("Other")
    make_user_with_history(other, "alice", at=timezone.now())
    end_user_erase(application=application, external_id="alice", by="dpo")
    assert EndUser.objects.filter(application=other, external_id="alice").exists()


def test_end_user_erase__unknown_user__not_found_and_nothing_recorded(application):
    with pytest.raises(EndUserNotFound):
        end_user_erase(application=application, external_id="nobody", by="dpo")
    assert not EndUserErasure.objects.exists()


def test_end_user_erase__hook_fails__everything_rolled_back(application, history, settings):
    alice, _ = history
    before = rows_referring_to(alice.pk)
    settings.WAYLINE_USER_ERASE_HOOKS = [f"{__name__}.failing_hook"]
    with pytest.raises(RuntimeError):
        end_user_erase(application=application, external_id="alice", by="dpo")
    assert rows_referring_to(alice.pk) == before
    assert not EndUserErasure.objects.exists()


def failing_hook(*, application_id, user_pk):
    raise RuntimeError("a hook that breaks")


def test_end_user_export__user_with_history__events_traits_state_survey_and_exposures(application, history):
    alice, _ = history
    export = end_user_export(application=application, external_id="alice")
    assert export["user"]["user_id"] == "alice"
    assert export["user"]["traits"] == {"email": "alice@example.test"}
    assert export["user"]["account"] == {"id": "alice-co", "traits": {"plan": "pro"}}
    assert export["user"]["stage"] == "activation"
    data = export["data"]
    assert [(e["name"], e["properties"]) for e in data["analytics.event"]] == [("integration_connected", {"source": "slack"})]
    assert [(s["score"], s["comment"]) for s in data["analytics.surveyresponse"]] == [(9, "alice loves it")]
    assert data["analytics.guidestate"][0]["seen_count"] == 1
    assert len(data["analytics.checklistitemcompletion"]) == 1
    assert [a["anonymous_id"] for a in data["analytics.useralias"]] == ["anon-alice"]
    assert len(data["experiments.exposure"]) == 1
    assert {label for label, rows in data.items() if rows} == {label for label, n in rows_referring_to(alice.pk).items() if n}
    assert "bob" not in repr(export)


def test_end_user_export__unknown_user__not_found(application):
    with pytest.raises(EndUserNotFound):
        end_user_export(application=application, external_id="nobody")
