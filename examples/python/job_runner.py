"""A simulated training job that BudgetGrains stops at a checkpoint when its cap cannot cover the next interval.

    python3 job_runner.py 127.0.0.1:5080 --tenant research --job finetune-7 --estimate-nanos 40000000000 \
        --cap-nanos 30000000000 --interval-nanos 5000000000 --checkpoints 8

A job is a long-lived task (docs/decisions/0043). Before each interval (say, the next hour of GPU time) it reserves
that interval's worst case; it trains; at the checkpoint it commits what the interval really cost. When the reserve of
the next interval is denied, the remaining cap cannot pay for it: the job stops right after a checkpoint, with its
work saved, instead of being killed mid-interval. At the end it ends its task with the outcome "completed" or
"stopped" and prints the job report: the pre-run estimate against the intervals' estimates and the actual cost.
The last line is a JSON summary prefixed with SUMMARY, for scripts.
"""
import argparse
import json
import random
import time

from budget_client import BudgetClient, dollars


def train_interval(rng: random.Random, interval_nanos: int, seconds: float) -> int:
    """One interval of simulated training: its cost is 80-100% of the worst case (the GPU finished a little early)."""
    time.sleep(seconds)
    return rng.randint(interval_nanos * 8 // 10, interval_nanos)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("address", help="the silo, HOST:PORT (cleartext HTTP/2)")
    parser.add_argument("--tenant", default="research")
    parser.add_argument("--job", default="finetune-1")
    parser.add_argument("--feature", default="training")
    parser.add_argument("--estimate-nanos", type=int, required=True, help="what the whole job should cost (the pre-run estimate)")
    parser.add_argument("--cap-nanos", type=int, default=0, help="the most it may spend (0: leave the job's budget as it is)")
    parser.add_argument("--interval-nanos", type=int, required=True, help="the worst case of one interval, reserved before it runs")
    parser.add_argument("--checkpoints", type=int, default=10, help="intervals the training needs to finish")
    parser.add_argument("--interval-seconds", type=float, default=0.01, help="how long a simulated interval takes")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    client = BudgetClient(args.address)
    job = client.start_job(args.tenant, args.job, args.estimate_nanos, args.cap_nanos, feature=args.feature)
    cap = dollars(job.cap_nanos) if job.cap_nanos else "its budget"
    print(f"job {job.scope}: estimate {dollars(job.estimate_nanos)}, cap {cap}")
    attribution = {"tenant": args.tenant, "feature": args.feature, "task": args.job, "labels": {"environment": "example"}}
    # The hold must outlive the interval: if the runner dies, the server releases it when it expires.
    hold_ttl_ms = min(3_600_000, max(60_000, int(args.interval_seconds * 2_000)))

    done, spent, outcome = 0, 0, "completed"
    while done < args.checkpoints:
        # Ids are stable per interval: a runner restarted after a crash repeats the same reserve and gets the same answer.
        with client.reserve(attribution, args.interval_nanos, request_id=f"{job.scope}/interval-{done + 1}", hold_ttl_ms=hold_ttl_ms) as hold:
            if not hold.admitted:
                left = "unlimited" if hold.remaining_nanos is None else dollars(hold.remaining_nanos)
                print(f"interval {done + 1}: DENIED {hold.reason} at {hold.denied_scope} (remaining {left}); stopping at checkpoint {done}")
                outcome = "stopped"
                break
            cost = train_interval(rng, args.interval_nanos, args.interval_seconds)
            spent += hold.commit(cost, outcome="checkpoint").charged_nanos
            done += 1
            print(f"checkpoint {done}: interval cost {dollars(cost)} (reserved {dollars(hold.held_nanos)}), spent {dollars(spent)}")

    client.end_task(job.scope, outcome)
    report = next(j for j in client.job_report(args.tenant) if j.scope == job.scope)
    print(f"job {outcome} after {report.intervals} checkpoints: actual {dollars(report.actual_nanos)}, "
          f"interval estimates {dollars(report.interval_estimate_nanos)}, pre-run estimate {dollars(report.estimate_nanos)} "
          f"({report.estimate_error_basis_points / 100:+.2f}%)")
    client.close()
    print("SUMMARY " + json.dumps({"outcome": outcome, "checkpoints": done, "spent_nanos": spent, "actual_nanos": report.actual_nanos,
                                   "interval_estimate_nanos": report.interval_estimate_nanos, "estimate_nanos": report.estimate_nanos}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
