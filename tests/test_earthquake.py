"""Earthquake scenario: BSSA14 ground motion, slope V_S30, correlated residuals, bad input."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from factories import tiny_layers
from resilientcity.errors import ValidationError
from resilientcity.hazard.correlation import (
    MAX_EXACT_SITES,
    correlated_normal_field,
    jayaram_baker_range_km,
)
from resilientcity.hazard.earthquake import (
    bssa14,
    bssa14_limits,
    earthquake_scenario,
    vs30_at_assets,
)
from resilientcity.hazard.vs30 import SlopeVs30Table, dem_slope, vs30_from_slope
from resilientcity.twin import City

MECHANISMS = ["unspecified", "strike_slip", "normal", "reverse"]


def _dense(intensity: object) -> np.ndarray:
    """An events × assets intensity as a dense array, whether stored sparse or dense."""
    return np.asarray(intensity.toarray() if sp.issparse(intensity) else intensity)


def _pga_rock_m6_r10() -> float:
    """ln PGA on rock (V_S30 = 760) for M 6.0, unspecified mechanism, R_JB = 10 km, by hand.

    F_E = e0 + e6 (M − Mh) = 0.4473 − 0.1662 × 0.5 = 0.3642 (M > Mh = 5.5)
    R = sqrt(10² + 4.5²) = sqrt(120.25) = 10.9659 km
    F_P = (c1 + c2 (M − 4.5)) ln(R / 1) + c3 (R − 1)
        = (−1.134 + 0.1917 × 1.5) × 2.39480 − 0.008088 × 9.9659 = −2.02708 − 0.08060
    F_S = 0 at V_S30 = Vref = 760 (F_lin = c ln 1 = 0; f2 = f4 (e^{400 f5} − e^{400 f5}) = 0)
    ln PGA = 0.3642 − 2.10768 = −1.74348, PGA = 0.1749 g
    """
    r = math.sqrt(10.0**2 + 4.5**2)
    return 0.4473 - 0.1662 * 0.5 + (-1.134 + 0.1917 * 1.5) * math.log(r) - 0.008088 * (r - 1.0)


class TestBSSA14HandComputed:
    def test_median_on_reference_rock(self) -> None:
        gm = bssa14(6.0, 10.0, 760.0)
        assert gm.ln_median == pytest.approx(_pga_rock_m6_r10(), rel=1e-12)
        assert float(gm.median) == pytest.approx(0.1749, abs=5e-5)
        assert gm.unit == "g"

    def test_soft_site_linear_and_nonlinear_terms(self) -> None:
        ln_rock = _pga_rock_m6_r10()
        pga_r = math.exp(ln_rock)  # PGA_r = 0.1749 g
        f_lin = -0.6 * math.log(300.0 / 760.0)  # c ln(V_S30/Vref) = +0.5575
        f2 = -0.15 * (math.exp(-0.00701 * (300.0 - 360.0)) - math.exp(-0.00701 * 400.0))
        f_nl = 0.0 + f2 * math.log((pga_r + 0.1) / 0.1)  # f1 + f2 ln((PGA_r + f3)/f3)
        gm = bssa14(6.0, 10.0, 300.0)
        assert gm.ln_median == pytest.approx(ln_rock + f_lin + f_nl, rel=1e-12)
        # soil amplifies weak shaking: F_S = 0.5575 − 0.1448 × 1.0141 ≈ 0.4107 > 0
        assert float(gm.median) > 0.1749

    def test_mechanism_changes_only_the_event_constant(self) -> None:
        base = bssa14(6.0, 10.0, 760.0, "unspecified").ln_median
        assert bssa14(6.0, 10.0, 760.0, "strike_slip").ln_median - base == pytest.approx(
            0.4856 - 0.4473
        )
        assert bssa14(6.0, 10.0, 760.0, "normal").ln_median - base == pytest.approx(0.2459 - 0.4473)
        assert bssa14(6.0, 10.0, 760.0, "reverse").ln_median - base == pytest.approx(
            0.4539 - 0.4473
        )

    def test_small_magnitude_uses_the_quadratic_branch(self) -> None:
        # M 5.0 <= Mh: F_E = e0 + e4 (−0.5) + e5 (0.25) = 0.4473 − 0.7155 + 0.0126325
        r = math.sqrt(10.0**2 + 4.5**2)
        expected = (
            0.4473
            + 1.431 * -0.5
            + 0.05053 * 0.25
            + (-1.134 + 0.1917 * 0.5) * math.log(r)
            - 0.008088 * (r - 1.0)
        )
        assert bssa14(5.0, 10.0, 760.0).ln_median == pytest.approx(expected, rel=1e-12)

    def test_region_changes_anelastic_attenuation(self) -> None:
        r = math.sqrt(100.0**2 + 4.5**2)
        diff = bssa14(6.0, 100.0, 760.0, region="china_turkey").ln_median - (
            bssa14(6.0, 100.0, 760.0).ln_median
        )
        assert diff == pytest.approx(0.0028576 * (r - 1.0), rel=1e-9)

    def test_sigmas(self) -> None:
        # M >= 5.5: tau = tau2 = 0.348, phi = phi2 = 0.495; M <= 4.5: tau1, phi1; linear between
        gm = bssa14(6.0, 10.0, 760.0)
        assert gm.tau == pytest.approx(0.348)
        assert gm.phi == pytest.approx(0.495)
        assert gm.sigma == pytest.approx(math.sqrt(0.348**2 + 0.495**2))
        mid = bssa14(5.0, 10.0, 760.0)
        assert mid.tau == pytest.approx((0.398 + 0.348) / 2)
        assert mid.phi == pytest.approx((0.695 + 0.495) / 2)
        # R_JB = 200 km: + dphi_R ln(200/110)/ln(270/110); V_S30 = 250: − dphi_V ln(300/250)/ln(300/225)
        far_soft = bssa14(6.0, 200.0, 250.0)
        expected = (
            0.495
            + 0.1 * math.log(200 / 110) / math.log(270 / 110)
            - 0.07 * math.log(300 / 250) / math.log(300 / 225)
        )
        assert far_soft.phi == pytest.approx(expected, rel=1e-12)
        assert bssa14(6.0, 300.0, 200.0).phi == pytest.approx(0.495 + 0.1 - 0.07)

    def test_vectorised_and_fast(self) -> None:
        rng = np.random.default_rng(0)
        rjb, vs30 = rng.uniform(0, 200, 100_000), rng.uniform(150, 1500, 100_000)
        start = time.perf_counter()
        gm = bssa14(6.5, rjb, vs30)
        assert time.perf_counter() - start < 0.5
        assert gm.ln_median.shape == (100_000,) and np.isfinite(gm.ln_median).all()
        one = bssa14(6.5, rjb[17], vs30[17])
        assert gm.ln_median[17] == pytest.approx(float(one.ln_median), rel=1e-14)

    def test_unknown_imt_mechanism_region(self) -> None:
        with pytest.raises(ValidationError, match="imt"):
            bssa14(6.0, 10.0, 760.0, imt="SA(0.75)")
        with pytest.raises(ValidationError, match="mechanism"):
            bssa14(6.0, 10.0, 760.0, mechanism="thrust")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="region"):
            bssa14(6.0, 10.0, 760.0, region="mars")  # type: ignore[arg-type]

    @settings(max_examples=50, deadline=None)
    @given(
        m=st.floats(3.0, 8.5),
        vs30=st.floats(150.0, 1500.0),
        mech=st.sampled_from(["unspecified", "strike_slip", "reverse"]),
    )
    def test_median_decreases_with_distance(self, m: float, vs30: float, mech: str) -> None:
        rjb = np.linspace(0.0, 400.0, 81)
        ln_y = bssa14(m, rjb, vs30, mech).ln_median  # type: ignore[arg-type]
        assert (np.diff(ln_y) < 0).all()


@pytest.fixture(scope="module")
def pygmm():  # type: ignore[no-untyped-def]
    return pytest.importorskip("pygmm", reason="pygmm (test extra) is not installed")


class TestAgainstPygmm:
    """Independent implementation: pygmm (A. Kottke), BooreStewartSeyhanAtkinson2014."""

    @pytest.mark.parametrize("mechanism", MECHANISMS)
    @pytest.mark.parametrize("region", ["global", "china_turkey", "italy_japan"])
    def test_median_and_sigmas_agree(self, pygmm, mechanism: str, region: str) -> None:  # type: ignore[no-untyped-def]
        code = {"unspecified": "U", "strike_slip": "SS", "normal": "NS", "reverse": "RS"}
        pygmm_region = {"global": "global", "china_turkey": "china", "italy_japan": "italy"}
        periods = list(pygmm.BooreStewartSeyhanAtkinson2014.PERIODS)
        for m in (3.5, 5.0, 5.8, 6.9):
            for rjb in (0.0, 7.0, 60.0, 150.0, 290.0):  # pygmm warns above 300 km
                for vs30 in (160.0, 260.0, 450.0, 760.0, 1300.0):
                    scenario = pygmm.Scenario(
                        mag=m,
                        dist_jb=rjb,
                        v_s30=vs30,
                        mechanism=code[mechanism],
                        region=pygmm_region[region],
                    )
                    ref = pygmm.BooreStewartSeyhanAtkinson2014(scenario)
                    for imt, period in (("PGA", 0.0), ("PGV", -1.0), ("SA(0.2)", 0.2)):
                        i = periods.index(period)
                        gm = bssa14(m, rjb, vs30, mechanism, imt, region)  # type: ignore[arg-type]
                        assert float(gm.ln_median) == pytest.approx(ref._ln_resp[i], rel=1e-6)
                        assert gm.tau == pytest.approx(ref._tau[i], rel=1e-6)
                        assert float(gm.phi) == pytest.approx(ref._phi[i], rel=1e-6)


class TestSlopeVs30:
    def test_knots_and_log_log_interpolation(self) -> None:
        table = SlopeVs30Table.default()
        knots = vs30_from_slope(table.slope_m_per_m)
        np.testing.assert_allclose(knots, table.vs30_m_s, rtol=1e-12)
        # halfway in log slope between 0.018 (360 m/s) and 0.05 (490 m/s): sqrt(360 × 490)
        mid = vs30_from_slope(math.sqrt(0.018 * 0.05))
        assert mid == pytest.approx(math.sqrt(360.0 * 490.0), rel=1e-12)

    def test_caps_flat_and_steep_ground(self) -> None:
        # below 3e-4 the first segment extrapolates under 180 m/s: floor 180; slope 0 too
        np.testing.assert_allclose(vs30_from_slope([0.0, 1e-5, 3e-4]), [180.0, 180.0, 180.0])
        # above 0.14 the last segment (620→760 over 0.10→0.14) extrapolates, capped at 900
        steep = 760.0 * (0.16 / 0.14) ** (math.log(760 / 620) / math.log(0.14 / 0.10))  # 824
        assert vs30_from_slope(0.16) == pytest.approx(steep, rel=1e-12)
        assert vs30_from_slope(5.0) == pytest.approx(900.0)
        assert np.isnan(vs30_from_slope(np.nan))

    def test_dem_slope_of_a_plane(self) -> None:
        dem = tiny_layers()["dem"]  # 10 × 10, 100 m cells, 30 → 50 m in row-major steps
        step = 20.0 / 99.0  # metres per cell along a row
        # east: step per 100 m; south (rows): 10 steps per 100 m
        expected = math.hypot(step / 100.0, 10 * step / 100.0)
        np.testing.assert_allclose(dem_slope(dem), expected, rtol=1e-5)  # type: ignore[arg-type]


def _city(**changes: object) -> City:
    layers = tiny_layers()
    layers.update(changes)
    return City(**layers)  # type: ignore[arg-type]


class TestVs30AtAssets:
    def test_scalar_array_and_slope(self, tiny_city: City) -> None:
        np.testing.assert_array_equal(vs30_at_assets(tiny_city, 400.0), [400.0] * 3)
        np.testing.assert_array_equal(vs30_at_assets(tiny_city, [200, 300, 900]), [200, 300, 900])
        slope = math.hypot(20 / 99 / 100, 10 * 20 / 99 / 100)  # 0.0203 m/m, the tiny DEM's
        # log-log between 0.018 (360 m/s) and 0.05 (490 m/s):
        # 360 × (490/360)^(ln(0.0203/0.018)/ln(0.05/0.018)) = 360 × 1.3611^0.1178 ≈ 373.3
        fraction = math.log(slope / 0.018) / math.log(0.05 / 0.018)
        expected = 360.0 * (490.0 / 360.0) ** fraction
        np.testing.assert_allclose(vs30_at_assets(tiny_city, "slope"), [expected] * 3)
        assert expected == pytest.approx(373.3, abs=0.05)

    def test_out_of_range_values_name_the_assets(self, tiny_city: City) -> None:
        with pytest.raises(ValidationError, match=r"vs30.*150–1500.*rows H1, S1") as info:
            vs30_at_assets(tiny_city, [300.0, np.nan, 2000.0])
        assert info.value.problems[0].rows == ("H1", "S1")
        with pytest.raises(ValidationError, match="vs30"):
            vs30_at_assets(tiny_city, 100.0)

    def test_wrong_length_or_word(self, tiny_city: City) -> None:
        with pytest.raises(ValidationError, match=r"one V_S30 per asset \(3\)"):
            vs30_at_assets(tiny_city, [300.0, 400.0])
        with pytest.raises(ValidationError, match="'slope'"):
            vs30_at_assets(tiny_city, "geology")

    def test_slope_needs_a_dem_under_every_asset(self) -> None:
        with pytest.raises(ValidationError, match="DEM"):
            vs30_at_assets(_city(dem=None), "slope")
        assets = tiny_layers()["assets"].copy()  # type: ignore[attr-defined]
        assets.loc[2, "geometry"] = shapely.Point(5000.0, 5000.0)  # off the 1 km DEM
        with pytest.raises(ValidationError, match=r"DEM cell.*row S1"):
            vs30_at_assets(_city(assets=assets), "slope")


class TestScenarioMedian:
    def test_one_median_event(self, tiny_city: City) -> None:
        events = earthquake_scenario(tiny_city, 6.5, (0.0, 0.0), 12.0, "reverse", vs30=400.0)
        assert events.kind == "earthquake" and events.unit == "g"
        assert list(events.event_ids) == ["M6.5-median"]
        np.testing.assert_array_equal(events.frequency, [0.0])
        rjb = np.hypot([100.0, 500.0, 900.0], [100.0, 500.0, 900.0]) / 1000.0
        expected = bssa14(6.5, rjb, 400.0, "reverse").median
        pga = _dense(events.intensity)[0]
        np.testing.assert_allclose(pga, expected, rtol=1e-12)
        assert (pga > 0).all() and (np.diff(pga) < 0).all()
        assert list(events.asset_ids) == ["B1", "H1", "S1"]

    def test_lonlat_epicentre_equals_projected(self, tiny_city: City) -> None:
        lon, lat = Transformer.from_crs("EPSG:32649", "EPSG:4326", always_xy=True).transform(
            300.0, -2000.0
        )
        by_xy = earthquake_scenario(tiny_city, 6.0, (300.0, -2000.0))
        by_lonlat = earthquake_scenario(tiny_city, 6.0, epicentre_lonlat=(lon, lat))
        np.testing.assert_allclose(_dense(by_lonlat.intensity), _dense(by_xy.intensity), rtol=1e-9)

    def test_frequency_and_event_id(self, tiny_city: City) -> None:
        events = earthquake_scenario(
            tiny_city, 6.0, (0.0, 0.0), annual_frequency=0.002, event_id="fault-A"
        )
        assert list(events.event_ids) == ["fault-A-median"]
        np.testing.assert_allclose(events.frequency, [0.002])

    def test_slope_vs30_on_the_demo_city(self, small_city: City) -> None:
        x0, y0, x1, y1 = small_city.dem.bounds  # type: ignore[union-attr]
        events = earthquake_scenario(small_city, 6.5, ((x0 + x1) / 2, (y0 + y1) / 2), vs30="slope")
        pga = _dense(events.intensity)
        assert pga.shape == (1, len(small_city.assets)) and (pga > 0).all()


class TestRealisations:
    def test_ids_frequencies_and_reproducible_seed(self, tiny_city: City) -> None:
        kwargs = {"n_realisations": 4, "seed": 7, "annual_frequency": 0.01}
        a = earthquake_scenario(tiny_city, 6.5, (0.0, 0.0), **kwargs)  # type: ignore[arg-type]
        b = earthquake_scenario(tiny_city, 6.5, (0.0, 0.0), **kwargs)  # type: ignore[arg-type]
        assert list(a.event_ids) == ["M6.5-r001", "M6.5-r002", "M6.5-r003", "M6.5-r004"]
        np.testing.assert_allclose(a.frequency, [0.0025] * 4)  # 0.01 split equally
        np.testing.assert_array_equal(_dense(a.intensity), _dense(b.intensity))
        c = earthquake_scenario(tiny_city, 6.5, (0.0, 0.0), n_realisations=4, seed=8)
        assert not np.array_equal(_dense(a.intensity), _dense(c.intensity))
        assert (_dense(a.intensity) > 0).all()

    def test_residual_moments(self, tiny_city: City) -> None:
        n = 4000
        median = _dense(earthquake_scenario(tiny_city, 6.5, (0.0, 0.0)).intensity)[0]
        gm = bssa14(6.5, np.hypot([100.0, 500, 900], [100.0, 500, 900]) / 1000, 760.0)
        for between, expected_var in ((True, gm.tau**2 + gm.phi**2), (False, gm.phi**2)):
            events = earthquake_scenario(
                tiny_city, 6.5, (0.0, 0.0), n_realisations=n, seed=1,
                include_between_event=between,
            )  # fmt: skip
            resid = np.log(_dense(events.intensity) / median)
            # mean within 4 standard errors of 0, variance within 4 standard errors (2σ⁴/n)
            assert np.abs(resid.mean(axis=0)).max() < 4 * np.sqrt(expected_var.max() / n)
            tolerance = 4 * np.sqrt(2 / n) * expected_var
            assert (np.abs(resid.var(axis=0) - expected_var) < tolerance).all()

    def test_between_event_term_is_shared_by_all_assets(self, tiny_city: City) -> None:
        # range 1e6 km: within-event residuals are almost identical across the 1 km city,
        # so (ln PGA − ln median − phi eps) differences between assets vanish with phi eps shared
        events = earthquake_scenario(
            tiny_city, 6.5, (0.0, 0.0), n_realisations=50, seed=3, correlation_range_km=1e6
        )
        median = _dense(earthquake_scenario(tiny_city, 6.5, (0.0, 0.0)).intensity)[0]
        resid = np.log(_dense(events.intensity) / median)  # phi is 0.495 at all 3 assets
        np.testing.assert_allclose(resid[:, 0], resid[:, 2], atol=0.02)


def _pairs(separations_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of sites off any grid node: site k and site k + K are separations_m[k] apart."""
    angle = 0.3
    x0 = 123.0 + 37.0 * np.arange(separations_m.size)
    y0 = np.full(separations_m.size, 777.0)
    x = np.concatenate([x0, x0 + separations_m * math.cos(angle)])
    y = np.concatenate([y0, y0 + separations_m * math.sin(angle)])
    return x, y


class TestCorrelatedField:
    def test_jayaram_baker_ranges(self) -> None:
        assert jayaram_baker_range_km() == 8.5
        assert jayaram_baker_range_km(0.0, vs30_clustered=True) == 40.7
        assert jayaram_baker_range_km(0.5) == pytest.approx(8.5 + 17.2 * 0.5)
        assert jayaram_baker_range_km(2.0) == pytest.approx(22.0 + 3.7 * 2.0)

    @pytest.mark.parametrize("method", ["exact", "grid"])
    def test_empirical_correlation_matches_exponential_model(self, method: str) -> None:
        b_km, n = 8.5, 20000
        h = np.array([300.0, 1000.0, 2500.0, 5000.0, 10000.0, 20000.0])
        x, y = _pairs(h)
        fields = correlated_normal_field(x, y, b_km, n, np.random.default_rng(11), method=method)  # type: ignore[arg-type]
        k = h.size
        rho = np.exp(-3.0 * h / (b_km * 1000.0))  # 0.900, 0.703, 0.414, 0.171, 0.029, 0.001
        empirical = np.array([np.corrcoef(fields[:, i], fields[:, k + i])[0, 1] for i in range(k)])
        # sampling standard error of a correlation: (1 − rho²)/sqrt(n) <= 0.0071
        sampling = 4 * (1 - rho**2) / math.sqrt(n)
        approximation = 0.0 if method == "exact" else 0.08  # grid bound from the docstring
        assert (np.abs(empirical - rho) < sampling + approximation).all()
        np.testing.assert_allclose(fields.var(axis=0), 1.0, atol=4 * math.sqrt(2 / n))

    def test_grid_error_is_within_the_documented_bound_at_large_separation(self) -> None:
        b_km, n = 8.5, 20000
        h = np.array([8500.0, 17000.0])
        x, y = _pairs(h)
        fields = correlated_normal_field(x, y, b_km, n, np.random.default_rng(2), method="grid")
        empirical = [np.corrcoef(fields[:, i], fields[:, 2 + i])[0, 1] for i in range(2)]
        np.testing.assert_allclose(empirical, np.exp(-3.0 * h / 8500.0), atol=0.01 + 4 / n**0.5)

    def test_co_located_sites_share_a_value(self) -> None:
        x = np.array([0.0, 0.0, 4321.0, 4321.0])
        y = np.array([0.0, 0.0, 987.0, 987.0])
        for method in ("exact", "grid"):
            f = correlated_normal_field(x, y, 8.5, 5, np.random.default_rng(0), method=method)  # type: ignore[arg-type]
            np.testing.assert_allclose(f[:, 0], f[:, 1])
            np.testing.assert_allclose(f[:, 2], f[:, 3])

    def test_seeds_are_reproducible(self) -> None:
        x, y = _pairs(np.array([500.0, 3000.0]))
        for method in ("exact", "grid"):
            a = correlated_normal_field(x, y, 8.5, 3, np.random.default_rng(5), method=method)  # type: ignore[arg-type]
            b = correlated_normal_field(x, y, 8.5, 3, np.random.default_rng(5), method=method)  # type: ignore[arg-type]
            np.testing.assert_array_equal(a, b)

    def test_zero_range_is_independent(self) -> None:
        f = correlated_normal_field([0.0, 1.0], [0.0, 0.0], 0.0, 20000, np.random.default_rng(1))
        assert abs(np.corrcoef(f.T)[0, 1]) < 4 / math.sqrt(20000)

    def test_auto_uses_the_grid_for_many_sites(self) -> None:
        rng = np.random.default_rng(4)
        n_sites = MAX_EXACT_SITES + 500
        x, y = rng.uniform(0, 20_000, n_sites), rng.uniform(0, 20_000, n_sites)
        start = time.perf_counter()
        f = correlated_normal_field(x, y, 8.5, 10, rng)
        assert f.shape == (10, n_sites) and time.perf_counter() - start < 5.0

    def test_too_fine_a_grid_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="grid_spacing_km"):
            correlated_normal_field(
                [0.0, 100_000.0], [0.0, 100_000.0], 8.5, 1, np.random.default_rng(0),
                spacing_km=0.5, method="grid",
            )  # fmt: skip


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "column"),
        [
            ({"magnitude": 8.6}, "magnitude"),
            ({"magnitude": 2.9}, "magnitude"),
            ({"magnitude": float("nan")}, "magnitude"),
            ({"magnitude": 7.5, "mechanism": "normal"}, "magnitude"),
            ({"mechanism": "oblique"}, "mechanism"),
            ({"depth_km": -1.0}, "depth_km"),
            ({"depth_km": float("inf")}, "depth_km"),
            ({"n_realisations": -1}, "n_realisations"),
            ({"n_realisations": 2.5}, "n_realisations"),
            ({"correlation_range_km": -3.0}, "correlation_range_km"),
            ({"grid_spacing_km": 0.0}, "grid_spacing_km"),
            ({"annual_frequency": -0.1}, "annual_frequency"),
            ({"epicentre_xy": (float("nan"), 0.0)}, "epicentre_xy"),
            ({"epicentre_xy": (1.0, 2.0, 3.0)}, "epicentre_xy"),
            ({"epicentre_xy": None}, "epicentre_xy"),
            ({"epicentre_lonlat": (113.0, 28.0)}, "epicentre_xy"),  # both given
            ({"epicentre_xy": None, "epicentre_lonlat": (200.0, 28.0)}, "epicentre_lonlat"),
            ({"vs30": float("nan")}, "vs30"),
            ({"vs30": [300.0, 400.0, 149.0]}, "vs30"),
            ({"epicentre_xy": (500_000.0, 0.0)}, "epicentre_xy"),  # assets beyond 400 km
        ],
    )
    def test_each_bad_argument_is_named(
        self, tiny_city: City, kwargs: dict[str, object], column: str
    ) -> None:
        args: dict[str, object] = {"magnitude": 6.5, "epicentre_xy": (0.0, 0.0)}
        args.update(kwargs)
        with pytest.raises(ValidationError) as info:
            earthquake_scenario(tiny_city, **args)  # type: ignore[arg-type]
        assert column in {p.column for p in info.value.problems}

    def test_all_scalar_problems_are_reported_at_once(self, tiny_city: City) -> None:
        with pytest.raises(ValidationError) as info:
            earthquake_scenario(tiny_city, 9.0, (0.0, 0.0), -5.0, n_realisations=-2)
        columns = {p.column for p in info.value.problems}
        assert {"magnitude", "depth_km", "n_realisations"} <= columns

    def test_magnitude_range_depends_on_mechanism(self, tiny_city: City) -> None:
        assert bssa14_limits()["magnitude"]["normal"] == [3.0, 7.0]
        events = earthquake_scenario(tiny_city, 7.5, (0.0, 0.0), mechanism="strike_slip")
        assert events.n_events == 1

    def test_far_assets_are_named(self, tiny_city: City) -> None:
        with pytest.raises(ValidationError, match=r"400 km.*rows B1, H1, S1"):
            earthquake_scenario(tiny_city, 6.5, (0.0, 450_000.0))

    def test_empty_geometry_is_named(self) -> None:
        assets = tiny_layers()["assets"].copy()  # type: ignore[attr-defined]
        assets.loc[1, "geometry"] = shapely.Point()
        layers = tiny_layers()
        layers["assets"] = assets
        city = City(**layers, validate=False)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=r"geometry.*row H1"):
            earthquake_scenario(city, 6.5, (0.0, 0.0))
