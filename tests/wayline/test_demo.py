from django.contrib.auth import get_user_model
from django.core.management import call_command

from analytics.models import EndUser, Event
from experiments.models import Experiment, Exposure, ResultSnapshot
from onboarding.models import Application, Guide, GuideVersion, Segment


def _configuration_counts():
    return (Application.objects.count(), Guide.objects.count(), GuideVersion.objects.count(), Segment.objects.count())


def test_demo_setup__configuration_only_run_twice__nothing_duplicated(db):
    call_command("demo_setup", "--no-data")
    counts = _configuration_counts()
    call_command("demo_setup", "--no-data")
    assert counts == _configuration_counts()
    assert counts == (1, 6, 6, 3)  # tour, checklist, bar, survey and the A/A's two welcome tours


def test_demo_setup__simulated_users_run_twice__second_run_adds_nothing(db, settings, tmp_path):
    # Given a data directory of its own (the truth file is the marker of a finished load)
    settings.DATA_DIR = tmp_path
    call_command("demo_setup", "--users", "150", "--seed", "3")
    loaded = (EndUser.objects.count(), Event.objects.count(), Exposure.objects.count(), Experiment.objects.count())

    # When it runs again
    call_command("demo_setup", "--users", "150", "--seed", "3")

    # Then nothing is added, and the four planted experiments run with results computed
    assert loaded == (EndUser.objects.count(), Event.objects.count(), Exposure.objects.count(),
                      Experiment.objects.count())
    assert loaded[0] == 150 and loaded[1] > 150 * 5 and loaded[3] == 4
    assert set(Experiment.objects.values_list("status", flat=True)) == {Experiment.Status.RUNNING}
    assert ResultSnapshot.objects.values("experiment").distinct().count() == 4
    assert (tmp_path / "truth.json").exists()


def test_demo_setup__logins__editor_and_viewer_can_sign_in(client, db):
    call_command("demo_setup", "--no-data")
    assert client.login(username="admin", password="wayline-demo")
    assert get_user_model().objects.get(username="viewer").groups.filter(name="Wayline viewers").exists()


def test_demo_page__demo_app__embeds_install_tag_for_its_key(client, db):
    call_command("demo_setup", "--no-data")
    application = Application.objects.get()
    page = client.get("/demo/").content.decode()
    assert "Connect integration" in page
    assert application.publishable_key in page or "snippet is not built" in page
