"""Learning mode: the reference turned into exercises, checked by the same spec.

    stubs     the reference's function bodies replaced by `raise NotImplementedError`
    generate  a learner's package (`grimoire exercises init DIR`) and its EXERCISES.md
    check     the spec on a learner's package, the first failing claim and the progress
    watch     the same check again on every save
"""
