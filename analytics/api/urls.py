"""Public API routes for identify and events (the snippet and the customer's backend)."""

urlpatterns: list = []
