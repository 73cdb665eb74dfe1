"""Reading a check's per-test records (`--outcomes-json`): how far a claim is, and what it waits on."""


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
