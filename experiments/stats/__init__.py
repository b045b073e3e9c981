"""Experiment statistics: pure functions over per-arm summaries, frozen dataclasses out.

No Django, no database: callers aggregate in SQL and pass counts and sums. Every function
names its method in the result's ``method`` field; docs/statistics.md explains each one.
"""

from experiments.stats.bayes import beta_chance_to_beat, beta_expected_loss, normal_chance_to_beat
from experiments.stats.cluster import compare_means_by_cluster, compare_proportions_by_cluster
from experiments.stats.cuped import compare_means_cuped
from experiments.stats.means import compare_means
from experiments.stats.multiple import adjust_p_values
from experiments.stats.power import (
    minimum_detectable_effect,
    minimum_detectable_effect_means,
    power_proportions,
    progress_to_planned_sample,
    sample_size_per_variant,
    sample_size_per_variant_means,
)
from experiments.stats.proportions import compare_proportions
from experiments.stats.results import (
    ClusteredResult,
    CupedResult,
    KaplanMeierResult,
    LogrankResult,
    MeansResult,
    ProportionsResult,
    SrmCheck,
)
from experiments.stats.sequential import (
    DEFAULT_TUNING,
    sequential_ci_half_width,
    sequential_p_value,
    sequential_rho,
)
from experiments.stats.srm import srm_check, srm_p_value
from experiments.stats.survival import kaplan_meier, logrank_test

__all__ = [
    "DEFAULT_TUNING",
    "ClusteredResult",
    "CupedResult",
    "KaplanMeierResult",
    "LogrankResult",
    "MeansResult",
    "ProportionsResult",
    "SrmCheck",
    "adjust_p_values",
    "beta_chance_to_beat",
    "beta_expected_loss",
    "compare_means",
    "compare_means_by_cluster",
    "compare_means_cuped",
    "compare_proportions",
    "compare_proportions_by_cluster",
    "kaplan_meier",
    "logrank_test",
    "minimum_detectable_effect",
    "minimum_detectable_effect_means",
    "normal_chance_to_beat",
    "power_proportions",
    "progress_to_planned_sample",
    "sample_size_per_variant",
    "sample_size_per_variant_means",
    "sequential_ci_half_width",
    "sequential_p_value",
    "sequential_rho",
    "srm_check",
    "srm_p_value",
]
