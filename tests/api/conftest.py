from tests.ingest_fixtures import _api_clean_slate, event_stream  # noqa: F401  (fixtures)
