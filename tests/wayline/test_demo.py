from django.contrib.auth import get_user_model
from django.core.management import call_command

from onboarding.models import Application, Guide, GuideVersion, Segment


def test_demo_setup__run_twice__nothing_duplicated(db):
    call_command("demo_setup")
    counts = (Application.objects.count(), Guide.objects.count(), GuideVersion.objects.count(), Segment.objects.count())
    call_command("demo_setup")
    assert counts == (
        Application.objects.count(), Guide.objects.count(), GuideVersion.objects.count(), Segment.objects.count()
    )
    assert counts == (1, 4, 4, 3)


def test_demo_setup__logins__editor_and_viewer_can_sign_in(client, db):
    call_command("demo_setup")
    assert client.login(username="admin", password="wayline-demo")
    assert get_user_model().objects.get(username="viewer").groups.filter(name="Wayline viewers").exists()


def test_demo_page__demo_app__embeds_install_tag_for_its_key(client, db):
    call_command("demo_setup")
    application = Application.objects.get()
    page = client.get("/demo/").content.decode()
    assert "Connect integration" in page
    assert application.publishable_key in page or "snippet is not built" in page
