"""Learning mode: the lessons of the reference turned into exercises, checked by the same spec.

    stubs     a lesson's stub keeps its signature, guard and Args/Returns/Example; the support stays solved
    index     which concept functions the tests of each claim call (read from spec/)
    path      the ordered path of lessons, the lessons each claim needs, EXERCISES.md
    generate  a learner's package (`grimoire exercises init DIR`), written atomically
    check     the spec on a learner's package: each claim's tests passing, the first failure, the next lesson
    records   reading a check's per-test records: how far a claim is, what it waits on
    diagnose  the catalogued classic mistake a failure matches
    standing  `list`: every claim's verdict, remembered by the code it depends on
    overlay   a package with a notebook's lessons written into it (a check from a cell)
    runner    pytest in this process (a claim, a section, --watch) or in xdist workers (everything)
    watch     one warm process re-checking the claims each save touches
    server    the warm checker: check, list and solution answered from a process that keeps TensorFlow loaded
    guide     `next`, `hint`, `solution`, `reset`, `list`
"""
