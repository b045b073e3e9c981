"""A simulated chat-support SaaS ("Chatterbox") whose users behave with known, planted effects.

``personas``     who the users are (traits) and how each kind behaves (probabilities, delays)
``truth``        the planted effects as frozen dataclasses, written as JSON beside the data
``generator``    seeded populations, experiment assignment and latent outcomes, chunk by chunk
``behaviour``    what each user does, as events (vectorised with numpy)
``events``       the columnar event builder, UUIDv7-shaped ids, the property catalogue
``loader``       writes generated data: through the real ingest writer (demo size) or with
                 PostgreSQL ``COPY`` (scale size)
``derived_sql``  the set-wise SQL that rebuilds derived state after a ``COPY`` load

Nothing here imports the experiments app: assignment is passed in as a function (the interface
layer hands over ``experiments.bucketing.assign``) and exposures are written through callbacks,
so the dependency direction holds.
"""
