"""Reductions and gadgets, one module per family, each registered in :mod:`reductions.registry`.

``ccbounds.reduce(model, problem)`` dispatches here. Users register their own reductions with
:func:`reductions.registry.register` without editing ccbounds.
"""
