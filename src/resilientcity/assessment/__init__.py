"""Resilience assessment: the indicator system, weighting, ranking, weak spots, maturity levels.

* :mod:`~resilientcity.assessment.indicators`: the seed's four dimensions and their indicators,
  with their ISO 37123 counterparts; extended or replaced from CSV/YAML;
* :mod:`~resilientcity.assessment.data`: units × years × indicators tables, validated, with an
  imputation policy;
* :mod:`~resilientcity.assessment.normalise`, :mod:`~resilientcity.assessment.weights`,
  :mod:`~resilientcity.assessment.aggregate`: normalisation, weights (AHP with its consistency
  ratio, entropy, CRITIC, equal, combined) and aggregation (weighted sum, geometric, TOPSIS,
  VIKOR), rankings and dimension scores;
* :mod:`~resilientcity.assessment.weak_spots`: obstacle degrees (短板) and year-on-year change;
* :mod:`~resilientcity.assessment.sensitivity`: Monte Carlo over the weights;
* :mod:`~resilientcity.assessment.maturity`: the L1–L4 questionnaire and its roadmap.
"""

from resilientcity.assessment.aggregate import (
    dimension_scores,
    rank,
    topsis,
    vikor,
    weighted_geometric,
    weighted_sum,
)
from resilientcity.assessment.data import (
    ImputationReport,
    IndicatorData,
    read_indicator_table,
    validate_indicator_table,
)
from resilientcity.assessment.districts import (
    AssessmentSummary,
    demo_assessment,
    district_assessment,
)
from resilientcity.assessment.from_twin import TWIN_INDICATORS, twin_indicators
from resilientcity.assessment.indicators import DIMENSIONS, IndicatorLibrary, dimensions
from resilientcity.assessment.maturity import MaturityResult, Questionnaire, assess_maturity
from resilientcity.assessment.normalise import minmax, normalise, target_based, vector, zscore
from resilientcity.assessment.run import (
    AssessmentResult,
    assess,
    read_ahp_matrix,
)
from resilientcity.assessment.sensitivity import (
    SensitivityResult,
    sample_weights,
    weight_sensitivity,
)
from resilientcity.assessment.weak_spots import (
    dimension_obstacles,
    main_obstacles,
    obstacle_degree,
    year_on_year,
)
from resilientcity.assessment.weights import (
    AHPResult,
    ahp_weights,
    combine_weights,
    critic_weights,
    entropy_weights,
    equal_weights,
)

__all__ = [
    "DIMENSIONS",
    "TWIN_INDICATORS",
    "AHPResult",
    "AssessmentResult",
    "AssessmentSummary",
    "ImputationReport",
    "IndicatorData",
    "IndicatorLibrary",
    "MaturityResult",
    "Questionnaire",
    "SensitivityResult",
    "ahp_weights",
    "assess",
    "assess_maturity",
    "combine_weights",
    "critic_weights",
    "demo_assessment",
    "dimension_obstacles",
    "dimension_scores",
    "dimensions",
    "district_assessment",
    "entropy_weights",
    "equal_weights",
    "main_obstacles",
    "minmax",
    "normalise",
    "obstacle_degree",
    "rank",
    "read_ahp_matrix",
    "read_indicator_table",
    "sample_weights",
    "target_based",
    "topsis",
    "twin_indicators",
    "validate_indicator_table",
    "vector",
    "vikor",
    "weight_sensitivity",
    "weighted_geometric",
    "weighted_sum",
    "year_on_year",
    "zscore",
]
