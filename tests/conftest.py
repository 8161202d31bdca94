"""Test-wide settings: hypothesis runs derandomized (same examples every run, as everything else in
ccbounds takes explicit seeds) and without wall-clock deadlines or slowness health checks, which a
busy 2-core CI machine would trip at random."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("ccbounds", derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ccbounds")
