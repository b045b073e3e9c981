"""Public API route for the content decision."""

urlpatterns: list = []
