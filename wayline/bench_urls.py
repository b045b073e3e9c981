"""Routes for benchmarks only; ``wayline/urls.py`` includes them when ``WAYLINE_BENCH_ROUTES=1``."""
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class BenchBareApi(APIView):
    """The floor every API endpoint is measured against: DRF with nothing to do."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    def get(self, request):
        return Response({"ok": True, "service": "wayline"})


urlpatterns = [
    path("bench/bare", BenchBareApi.as_view(), name="bench-bare"),
]
