"""Every public theory function refuses junk the same way: bools, numeric strings, None, NaN and
+-inf in any numeric argument give a ValueError that names an argument -- never a value, never
another exception. (One rule for theory and simulators: the vocabulary refuses these.)"""

from __future__ import annotations

import inspect
import math

import pytest

from modelcollapse.theory import (
    accumulate_subsample,
    discrete,
    discrete_drift,
    discrete_workflow_chains,
    discrete_workflows,
    gaussian,
    gaussian_workflows,
    multivariate,
    poisson,
    poisson_workflows,
    regression,
    tails,
)

#: A valid call of each function (positional arguments), from which one argument at a time is
#: replaced by junk. Functions absent here are skipped (listed by ``test_every_function_listed``).
VALID = {
    gaussian: {
        "variance_moment": (3, 10, 0.5), "log_variance_moment": (3, 10, 0.5),
        "expected_variance": (3, 10), "expected_std": (3, 10), "expected_log_variance": (3, 10),
        "log_variance_variance": (3, 10), "collapse_probability": (3, 10, 0.5),
        "survival_probability": (3, 10, 0.5), "log_variance_cdf": (3, 10, -0.5),
        "log_variance_logcdf": (3, 10, -0.5),
        "variance_quantile": (3, 10, 0.5), "log_variance_quantile": (3, 10, 0.5),
        "mean_drift_mse": (3, 10), "expected_w2_squared": (3, 10), "marginal_variance": (3, 10),
        "std_factor": (10,), "log_std_factor": (10,), "markov_survival_bound": (3, 10, 0.5),
        "suresh_survival_bound": (3, 10, 0.5), "chernoff_survival_bound": (3, 10, 0.5),
        "expected_variance_schedule": ([5, 6],), "expected_std_schedule": ([5, 6],),
        "mean_drift_mse_schedule": ([5, 6],), "expected_w2_squared_schedule": ([5, 6],),
        "marginal_variance_schedule": ([5, 6],), "polynomial_schedule": (10, 3, 1.0),
        "w2_leading_order_schedule": ([5, 6],), "w2_bounded": (1.0,),
        "expected_std_approx": (3, 10), "log_std_factor_approx": (10,),
        "log_collapse_probability": (3, 10, 0.5), "log_survival_probability": (3, 10, 0.5),
    },
    discrete: {
        "expected_heterozygosity": (3, [0.5, 0.5], 10), "expected_collision": (3, [0.5, 0.5], 10),
        "expected_sq_distance": (3, [0.5, 0.5], 10), "count_distribution": (3, 0.5, 10),
        "extinction_probability": (3, 0.1, 10), "survival_probability": (3, 0.1, 10),
        "poisson_refit_g": (3,), "survival_bounds": (3, 0.1, 10),
        "expected_survivors": (3, [0.5, 0.5], 10), "fixation_probability": (0.3,),
        "expected_absorption_time": (0.3, 10), "expected_time_to_loss": (0.3, 10),
        "expected_time_to_fixation": (0.3, 10), "expected_time_to_monomorphism": ([0.5, 0.5], 10),
        "smoothed_expected_collision": (3, [0.5, 0.5], 10, 0.5),
        "smoothed_expected_heterozygosity": (3, [0.5, 0.5], 10, 0.5),
        "smoothed_stationary_heterozygosity": (3, 10, 0.5),
        "smoothed_expected_sq_distance": (3, [0.5, 0.5], 10, 0.5),
        "mixed_expected_sq_distance": (3, [0.5, 0.5], 3, 2),
        "mixed_sq_distance_limit": ([0.5, 0.5], 3, 2),
    },
    gaussian_workflows: {
        "schedule_moments": ([5, 6],),
        "truncation_variance_factor": (1.0,), "accumulate_expected_variance": (3, 10),
        "accumulate_mean_drift_mse": (3, 10), "accumulate_variance_limit": (10,),
        "accumulate_drift_bound": (10,), "accumulate_biased_moments": (3, 10),
        "mix_moments": (3, 10, 4), "mix_fixed_point": (10, 4),
        "mix_fixed_real_moments": (3, 10, 4),
        "weighted_moments": (3, 10, 10, 0.5), "weighted_stationary_variance": (0.5, 10, 10),
        "optimal_weight": (10, 10), "expected_variance": (3, 10), "mean_drift_mse": (3, 10),
        "truncation_kurtosis_factor": (1.0,), "second_moments": (3, 10),
        "variance_variance": (3, 10), "mean_drift_fourth_moment": (3, 10),
        "expected_w2_squared": (3, 10), "expected_log_variance": (3, 10),
    },
    accumulate_subsample: {
        "accumulate_subsample_mean_drift_mse": (3, 10),
        "accumulate_subsample_mean_mse": (3, 10),
        "accumulate_subsample_expected_variance": (3, 10),
        "accumulate_subsample_moments": (3, 10),
        "accumulate_subsample_mean_ratio": (3,),  # M=None is valid (rho = 1)
        "accumulate_subsample_mean_ratio_limit": (0.5,),
    },
    discrete_workflow_chains: {
        "mix_count_distribution": (3, [0.5, 0.5], 10), "chain_expectation": (3, [0.5, 0.5], 4),
        "bias_distribution": ([0.5, 0.5],),
    },
    discrete_workflows: {
        "accumulate_factor": (3, 10), "accumulate_factor_limit": (10,),
        "sq_distance_limit": ([0.5, 0.5], 10), "heterozygosity_limit": ([0.5, 0.5], 10),
        "expected_heterozygosity_schedule": ([0.5, 0.5], [5, 6]),
        "expected_sq_distance_schedule": ([0.5, 0.5], [5, 6]),
    },
    tails: {
        "zipf_probabilities": (10, 2.0), "expected_missing_mass": (3, [0.5, 0.5], 10),
        "effective_cutoff": (3, [0.5, 0.5], 10), "effective_cutoff_asymptotic": (3, 10, 2.0),
        "memoriser_test_error": (5, 3, [0.5, 0.5], 10),
        "memoriser_test_error_asymptotic": (5, 3, 10, 2.0),
    },
    discrete_drift: {
        "expected_mean_drift": (3, [0.2, 0.5, 0.3], 10),
        "expected_support_variance": (3, [0.2, 0.5, 0.3], 10),
        "support_variance_variance": (3, [0.2, 0.5, 0.3], 10),
        "expected_w1": (3, [0.2, 0.5, 0.3], 10), "w1_limit": ([0.2, 0.5, 0.3],),
        "expected_total_variation": (3, [0.2, 0.5, 0.3], 10),
        "total_variation_limit": ([0.2, 0.5, 0.3],),
        "expected_w2_squared": (3, [0.2, 0.5, 0.3], 10),
        "w2_squared_bounds": (3, [0.2, 0.5, 0.3], 10), "w2_squared_limit": ([0.2, 0.5, 0.3],),
        "expected_cramer_squared": (3, [0.2, 0.5, 0.3], 10),
        "cramer_squared_limit": ([0.2, 0.5, 0.3],),
    },
    poisson: {
        "expected_rate": (3, 1.0, 10), "rate_variance": (3, 1.0, 10),
        "extinction_probability": (3, 1.0, 10), "log_extinction_probability": (3, 1.0, 10),
        "survival_probability": (3, 1.0, 10), "survival_asymptotic": (3, 1.0, 10),
        "conditional_expected_rate": (3, 1.0, 10), "conditional_rate_variance": (3, 1.0, 10),
        "count_distribution": (3, 1.0, 10), "count_distribution_window": (3, 1.0, 10),
        "rate_cdf": (3, 1.0, 10, 1.0), "rate_quantile": (3, 1.0, 10, 0.5),
        "extinction_time_quantile": (1.0, 10, 0.5), "median_extinction_time": (1.0, 10),
        "expected_capped_extinction_time": (3, 1.0, 10),
        "rate_variance_schedule": (1.0, [5, 6]),
        "extinction_probability_schedule": (1.0, [5, 6]),
        "survival_probability_schedule": (1.0, [5, 6]),
    },
    multivariate: {
        "expected_covariance": (3, 10, [1.0, 2.0]), "expected_trace": (3, 10, [1.0, 2.0]),
        "mean_drift_mse": (3, 10, [1.0, 2.0]), "w2_squared_small_t": (3, 10, [1.0, 2.0]),
        "w2_squared_bounds": (3, 10, [1.0, 2.0]), "expected_w2_squared": (3, 10, [1.0]),
        "expected_determinant": (3, 10, 2), "expected_log_determinant": (3, 10, 2),
        "log_determinant_variance": (3, 10, 2), "lyapunov_spectrum": (10, 2),
        "expected_log_determinant_schedule": ([5, 6], 2),
        "log_determinant_variance_schedule": ([5, 6], 2),
        "expected_determinant_schedule": ([5, 6], 2),
        "expected_trace_schedule": ([5, 6], [1.0, 2.0]),
        "mean_drift_mse_schedule": ([5, 6], [1.0, 2.0]),
        "determinant_root_bounds": (3, 10, [1.0, 2.0]),
        "log_determinant_upper_bound": (3, 10, [1.0, 2.0]),
        "log_determinant_lower_bound": (3, 10, [1.0, 2.0]),
        "w2_squared_numeric": (3, 10, [1.0, 2.0]),
    },
    regression: {
        "expected_test_error": (3, 12, 2), "accumulate_bound": (12, 2),
        "stationary_test_error": (12, 2), "variance_of_test_error": (3, 12, 2),
        "mix_contraction": (12, 2),
        "conditional_test_error": (3, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
    },
    poisson_workflows: {
        "mix_rate_variance": (3, 1.0, 10, 2), "mix_stationary_variance": (1.0, 10, 2),
        "mix_extinction_probability": (3, 1.0, 10, 2),
        "accumulate_rate_variance": (3, 1.0, 10), "accumulate_variance_limit": (1.0, 10),
        "accumulate_extinction_probability": (3, 1.0, 10),
        "weighted_rate_variance": (3, 1.0, 10, 0.5),
        "weighted_stationary_variance": (1.0, 10, 0.5),
        "weighted_extinction_probability": (3, 1.0, 10, 0.5),
        "stationary_rate_variance": (1.0, 10), "extinction_limit": (1.0, 10),
    },
}

JUNK = [True, "5", None, math.nan, math.inf, -math.inf]
#: (function, argument position, value) where a junk value is a valid input of the formula:
#: +-inf on the log-variance axis and on the rate axis (a cdf is 0 at -inf and 1 at +inf).
ALLOWED = {("log_variance_cdf", 2, math.inf), ("log_variance_cdf", 2, -math.inf),
           ("log_variance_logcdf", 2, math.inf), ("log_variance_logcdf", 2, -math.inf),
           ("rate_cdf", 3, math.inf), ("rate_cdf", 3, -math.inf),
           ("truncation_variance_factor", 0, math.inf),
           ("truncation_kurtosis_factor", 0, math.inf)}


def _cases():
    for module, calls in VALID.items():
        for name, args in calls.items():
            if not hasattr(module, name):
                continue
            for i in range(len(args)):
                for junk in JUNK:
                    if (name, i, junk) in ALLOWED:
                        continue
                    yield pytest.param(module, name, args, i, junk,
                                       id=f"{module.__name__.split('.')[-1]}.{name}[{i}]={junk!r}")


@pytest.mark.parametrize("module, name, args, i, junk", list(_cases()))
def test_junk_argument_is_refused_by_name(module, name, args, i, junk):
    fn = getattr(module, name)
    bad = list(args)
    bad[i] = junk
    names = [p.name for p in inspect.signature(fn).parameters.values()]
    with pytest.raises(ValueError) as exc:
        fn(*bad)
    assert any(str(exc.value).startswith((n, f"{n}[")) or f" {n} " in str(exc.value)
               for n in names), (names, str(exc.value))


@pytest.mark.parametrize("module", list(VALID), ids=lambda m: m.__name__.split(".")[-1])
def test_every_function_listed(module):
    """A new public function gets a valid call in VALID (so that it is fuzzed too)."""
    public = [n for n in module.__all__ if callable(getattr(module, n))
              and not isinstance(getattr(module, n), type)]
    missing = [n for n in public if n not in VALID[module]]
    assert not missing, missing


def test_cdfs_at_infinity():
    assert float(gaussian.log_variance_cdf(3, 10, math.inf)) == 1.0
    assert float(gaussian.log_variance_cdf(3, 10, -math.inf)) == 0.0
    assert float(gaussian.log_variance_logcdf(3, 10, math.inf)) == 0.0
    assert float(gaussian.log_variance_logcdf(3, 10, -math.inf)) == -math.inf
    assert float(poisson.rate_cdf(3, 1.0, 10, math.inf)) == 1.0
    assert float(poisson.rate_cdf(3, 1.0, 10, -math.inf)) == 0.0
