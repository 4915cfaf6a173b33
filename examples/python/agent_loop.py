"""An agent loop that asks BudgetGrains before every model call and stops when denied.

    python3 agent_loop.py 127.0.0.1:5080 --tenant demo --create-budget 10000000

Each step reserves an estimate, "calls a model" (a short sleep and a made-up cost at or below the estimate),
and commits the cost. A failed model call releases its hold (the `with` block). The last line is a JSON
summary prefixed with SUMMARY, for scripts.
"""
import argparse
import json
import random
import time

from budget_client import BudgetClient, dollars


class ModelError(Exception):
    pass


def fake_model_call(rng: random.Random, estimate_nanos: int, cost_nanos: int, fail: bool) -> int:
    time.sleep(0.01)
    if fail:
        raise ModelError("the model timed out")
    return cost_nanos if cost_nanos else rng.randint(estimate_nanos // 2, estimate_nanos)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("address", help="the silo, HOST:PORT (cleartext HTTP/2)")
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--feature", default="")
    parser.add_argument("--estimate-nanos", type=int, default=2_000_000, help="held before each call (default $0.002)")
    parser.add_argument("--cost-nanos", type=int, default=0, help="what each call costs; default: random, half the estimate to all of it")
    parser.add_argument("--fail-step", type=int, default=0, help="make this step's model call fail (its hold is released)")
    parser.add_argument("--create-budget", type=int, metavar="LIMIT_NANOS", help="first set tenant/<tenant>'s limit (demo setup)")
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    client = BudgetClient(args.address)
    attribution = {"tenant": args.tenant, "labels": {"model": "fake-model", "environment": "example"}}
    if args.feature:
        attribution["feature"] = args.feature
    if args.create_budget is not None:
        client.upsert_budget(f"tenant/{args.tenant}", args.create_budget)
        print(f"budget tenant/{args.tenant}: limit {dollars(args.create_budget)}")

    summary = {"calls": 0, "failed": 0, "spent_nanos": 0, "stopped": "max-steps", "reason": None, "denied_scope": None}
    for step in range(1, args.max_steps + 1):
        with client.hold(attribution, args.estimate_nanos) as hold:
            if not hold.admitted:
                remaining = "unlimited" if hold.remaining_nanos is None else dollars(hold.remaining_nanos)
                print(f"step {step}: DENIED {hold.reason} at {hold.denied_scope} (remaining {remaining}); stopping")
                summary.update(stopped="denied", reason=hold.reason, denied_scope=hold.denied_scope)
                break
            remaining = "unlimited" if hold.remaining_nanos is None else dollars(hold.remaining_nanos)
            print(f"step {step}: ADMITTED {hold.reservation_id} held {dollars(hold.held_nanos)} remaining {remaining}")
            try:
                cost = fake_model_call(rng, args.estimate_nanos, args.cost_nanos, fail=step == args.fail_step)
            except ModelError as error:
                # Leaving the `with` block uncommitted releases the hold: nothing is spent for a call that failed.
                print(f"step {step}: model call failed ({error}); hold released")
                summary["failed"] += 1
                continue
            result = hold.commit(cost, outcome="resolved")
            summary["calls"] += 1
            summary["spent_nanos"] += result.charged_nanos
            print(f"step {step}: model call cost {dollars(cost)}; committed {dollars(result.charged_nanos)}")

    client.close()
    print(f"stopped ({summary['stopped']}) after {summary['calls']} model calls, spent {dollars(summary['spent_nanos'])}")
    print("SUMMARY " + json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
