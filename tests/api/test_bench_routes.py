"""The benchmarks' reference endpoints exist only when a benchmark turns them on."""
import pytest
from django.urls import Resolver404, resolve


@pytest.mark.parametrize("path", ["/api/v1/bench/bare", "/api/v1/bench/validate-drf", "/api/v1/bench/noop"],
                         ids=["bare", "validate-drf", "noop"])
def test_bench_routes__default_settings__not_routed(path):
    with pytest.raises(Resolver404):
        resolve(path)
