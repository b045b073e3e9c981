"""The experiment-variant filter of the reports: where analytics meets experiments, in the interface layer.

Reports only take a ``VariantFilter`` (a label and the variant's users as a queryset of ids); this
module, like the public content endpoint, may read experiments to build one. The users are the
ones exposed to the variant (``experiments.Exposure``), which covers exposures recorded by the
content decision and those reported by clients as ``$exposure`` events.
"""
from __future__ import annotations

from analytics.reports.filters import VariantFilter
from experiments.models import Exposure, Variant


def report_variant_filter(*, application_id: int, variant_id: int) -> VariantFilter:
    """The filter for one variant of an experiment of the application; ``ValueError`` names a bad id."""
    variant = (Variant.objects.select_related("experiment")
               .filter(pk=variant_id, experiment__application_id=application_id).first())
    if variant is None:
        raise ValueError("variant: no such experiment variant in this application")
    return VariantFilter(variant_id=variant.id, label=f"{variant.experiment.name}: {variant.key}",
                         users=Exposure.objects.filter(variant_id=variant.id).values("user_id"))


def report_variant_choices(*, application_id: int) -> list[tuple[int, str]]:
    """(variant id, "experiment: variant") for every variant of the application's started experiments."""
    variants = (Variant.objects.select_related("experiment")
                .filter(experiment__application_id=application_id, experiment__started_at__isnull=False)
                .order_by("experiment__name", "experiment_id", "-is_control", "key"))
    return [(v.id, f"{v.experiment.name}: {v.key}") for v in variants]
