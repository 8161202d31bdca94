"""Reductions and gadgets: the compiled cut of the user's own forward (:mod:`reductions.compiled`, what
``ccbounds.reduce(model, problem)`` runs), the gadgets (:mod:`reductions.gadgets`), the Hugging Face cache reading
(:mod:`reductions.hf_cache`) and the built-in readings kept as test oracles
(:func:`reductions.registry.builtin_reduction`).
An op the compiled reduction cannot split gets a rule with :func:`reductions.compiled.register_split_rule`.
"""
