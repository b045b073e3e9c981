from tests.ingest_fixtures import _api_clean_slate  # noqa: F401  (fixture)
