"""Learning mode: the reference turned into exercises, one function at a time, checked by the same spec.

    stubs     a stub keeps the signature, Args/Returns/Example and the argument checks; drops the rest
    index     which concept functions the tests of each claim call (read from spec/)
    path      the ordered path of functions, the functions each claim needs, EXERCISES.md
    generate  a learner's package (`grimoire exercises init DIR`), written atomically
    check     the spec on a learner's package: the selected claims, the first failure, the next function
    runner    pytest in this process (a claim, a section, --watch) or in xdist workers (everything)
    watch     one warm process re-checking the claims each save touches
    guide     `next`, `hint`, `solution`
"""
