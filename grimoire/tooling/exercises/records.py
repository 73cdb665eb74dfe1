"""Reading a check's per-test records (`--outcomes-json`): how far a claim is, what it waits on, its failure's text."""

import re


def tests_passing(claim_id, records):
    """`(passed, run)`: how many of the claim's tests passed, of those that ran here (skips left out)."""
    own = [r for r in records if claim_id in r["claims"] and r["outcome"] != "skipped"]
    return sum(r["outcome"] == "passed" for r in own), len(own)


def claim_line(claim_id, state, records):
    """What follows a claim's status: `3 of 5 tests pass; waits on metrics.BalancedAccuracy.result`."""
    passed, run = tests_passing(claim_id, records)
    if not run:
        return ""
    text = f"{passed} of {run} tests pass"
    if state == "pending":
        text += f"; waits on {waits_on(claim_id, records)}"
    return text


def waits_on(claim_id, records):
    """The first stub a pending test of the claim reached (`params.dense_params`), or ''."""
    for record in records:
        if claim_id in record["claims"] and record["outcome"] == "pending":
            return record["message"].removeprefix("pending: write ").strip()
    return ""


def readable(traceback):
    """A failure's text without what helps the spec's authors, not a learner.

    Left out: xdist banners, Hypothesis' reproduce blobs, the `@given(` frame Hypothesis adds in
    front of the test's own, and pytest's `+ where <function ... at 0x...>` explanations.
    """
    drop = ("[gw", "@reproduce_failure", "You can reproduce this example", "reproduce_failure(")
    lines = [line for line in traceback.splitlines() if not any(d in line for d in drop) and not _WHERE.match(line)]
    out, skip_blank = [], False
    for line in lines:
        if line.strip() == "@given(":
            if out and _FRAME.match(out[-1].strip()):
                out.pop()  # the location line of Hypothesis' frame
            skip_blank = True
            continue
        if skip_blank and not line.strip():
            continue
        skip_blank = False
        out.append(line)
    return "\n".join(out)


# pytest's introspection of a call, `+ where 1 = <function f at 0x...>(2)`, in a traceback (`E` first) or a message.
_WHERE = re.compile(r"^(?:E)?\s+\+\s+(where|and)\b.*(?: at 0x[0-9a-f]+|<module )")
_FRAME = re.compile(r"^\S.*:\d+: in \w+$")
