"""A small BudgetGrains client over the standard Python gRPC stack (grpcio).

The budget.v1 stubs are generated from ../../protos with grpc_tools.protoc the first time this module is
imported (and again when a .proto is newer), into ./budget/ (git-ignored). Debian: python3-grpcio,
python3-grpc-tools.

    client = BudgetClient("127.0.0.1:5080")
    with client.hold({"tenant": "acme", "feature": "rerank"}, estimate_nanos=2_000_000) as hold:
        if not hold.admitted:
            print("denied:", hold.reason, hold.denied_scope)
        else:
            cost = call_model()            # an exception here releases the hold
            hold.commit(cost)

Money is int nanos (1 USD = 1_000_000_000). A deny is a result, not an exception; errors are grpc.RpcError.
Calls are retried on UNAVAILABLE and DEADLINE_EXCEEDED with the same request id, which the server
deduplicates, so a retry after a lost answer never charges twice.
"""
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTOS = os.path.normpath(os.path.join(HERE, "..", "..", "protos"))
PROTO_FILES = [os.path.join(PROTOS, "budget", "v1", name) for name in ("types.proto", "settings.proto", "admission.proto", "management.proto")]
NANOS_PER_DOLLAR = 1_000_000_000
UNLIMITED = 2**63 - 1  # what the server reports as remaining when no scope of the chain has a limit


def _ensure_stubs() -> None:
    generated = os.path.join(HERE, "budget", "v1", "management_pb2_grpc.py")
    newest_proto = max(os.path.getmtime(p) for p in PROTO_FILES)
    if os.path.exists(generated) and os.path.getmtime(generated) >= newest_proto:
        return
    from grpc_tools import protoc  # only needed to generate

    # The well-known types (google/protobuf/field_mask.proto) ship with grpc_tools.
    well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    if protoc.main(["protoc", f"-I{PROTOS}", f"-I{well_known}", f"--python_out={HERE}", f"--grpc_python_out={HERE}", *PROTO_FILES]) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {PROTOS}")


_ensure_stubs()
sys.path.insert(0, HERE)
from budget.v1 import admission_pb2, admission_pb2_grpc, management_pb2, management_pb2_grpc, types_pb2  # noqa: E402

RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def dollars(nanos: int) -> str:
    """Formats nanos as dollars, exactly: 42_000_000 -> '$0.042'."""
    sign = "-" if nanos < 0 else ""
    whole, frac = divmod(abs(nanos), NANOS_PER_DOLLAR)
    frac_text = f"{frac:09d}".rstrip("0").ljust(2, "0")
    return f"{sign}${whole}.{frac_text}"


@dataclass
class CommitResult:
    charged_nanos: int
    late: bool
    overage: bool


@dataclass
class Hold:
    """The answer to a reserve. Use it as a context manager: leaving the block without commit() or release()
    (for example because the model call raised) releases it."""
    client: "BudgetClient"
    request_id: str
    admitted: bool
    reservation_id: Optional[str]
    reason: Optional[str]          # "BUDGET_EXHAUSTED", "FROZEN", ... when denied
    denied_scope: Optional[str]
    remaining_nanos: Optional[int]  # None: no scope of the chain has a limit
    held_nanos: int
    expires_at_unix_ms: Optional[int]
    crossed_thresholds: list = field(default_factory=list)
    settled: bool = False

    def commit(self, actual_nanos: int, outcome: str = "") -> CommitResult:
        if not self.admitted:
            raise RuntimeError(f"reserve {self.request_id} was denied ({self.reason}); nothing to commit")
        # Settled before sending: if the commit fails the call still happened, so leaving the block must not release.
        self.settled = True
        return self.client.commit(self.reservation_id, actual_nanos, outcome)

    def release(self) -> bool:
        if not self.admitted:
            return False
        self.settled = True
        return self.client.release(self.reservation_id)

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.admitted and not self.settled:
            try:
                self.release()
            except grpc.RpcError as error:
                # Never hide the exception that is propagating; the server releases the hold when it expires.
                print(f"warning: could not release {self.reservation_id}: {error.code().name}", file=sys.stderr)


class BudgetClient:
    def __init__(self, address: str, timeout: float = 5.0, max_attempts: int = 4, backoff: float = 0.05,
                 api_key: Optional[str] = None):
        self._channel = grpc.insecure_channel(address)
        # A silo that requires keys wants "authorization: Bearer <key>" on every call (default: $BUDGETGRAINS_API_KEY).
        key = api_key if api_key is not None else os.environ.get("BUDGETGRAINS_API_KEY")
        self._metadata = (("authorization", f"Bearer {key}"),) if key else None
        self._admission = admission_pb2_grpc.AdmissionStub(self._channel)
        self._management = management_pb2_grpc.ManagementStub(self._channel)
        self._timeout, self._max_attempts, self._backoff = timeout, max_attempts, backoff

    def close(self) -> None:
        self._channel.close()

    def _call(self, method, request):
        """One logical call within `timeout`: retried with the very same request (same ids) after a jittered backoff."""
        deadline = time.monotonic() + self._timeout
        for attempt in range(1, self._max_attempts + 1):
            left = deadline - time.monotonic()
            try:
                return method(request, timeout=max(left, 0.001), metadata=self._metadata)
            except grpc.RpcError as error:
                delay = random.uniform(0, self._backoff * 2 ** (attempt - 1))
                if error.code() not in RETRYABLE or attempt == self._max_attempts or time.monotonic() + delay >= deadline:
                    raise
                time.sleep(delay)

    @staticmethod
    def _attribution(attribution: dict) -> types_pb2.Attribution:
        return types_pb2.Attribution(**attribution)

    def reserve(self, attribution: dict, estimate_nanos: int, request_id: Optional[str] = None, hold_ttl_ms: int = 0) -> Hold:
        request_id = request_id or uuid.uuid4().hex
        response = self._call(self._admission.Reserve, admission_pb2.ReserveRequest(
            request_id=request_id, attribution=self._attribution(attribution), estimate_nanos=estimate_nanos, hold_ttl_ms=hold_ttl_ms))
        admitted = response.decision == types_pb2.ADMITTED
        return Hold(
            client=self,
            request_id=request_id,
            admitted=admitted,
            reservation_id=response.reservation_id if admitted else None,
            reason=None if admitted else types_pb2.DenyReason.Name(response.reason),
            denied_scope=None if admitted else response.denied_scope,
            remaining_nanos=None if response.remaining_nanos == UNLIMITED else response.remaining_nanos,
            held_nanos=response.held_nanos,
            expires_at_unix_ms=response.expires_at_unix_ms or None,
            crossed_thresholds=list(response.crossed_thresholds),
        )

    # Reads better at the call site: `with client.hold(...) as hold:`.
    hold = reserve

    def commit(self, reservation_id: str, actual_nanos: int, outcome: str = "") -> CommitResult:
        response = self._call(self._admission.Commit, admission_pb2.CommitRequest(
            reservation_id=reservation_id, actual_nanos=actual_nanos, outcome=outcome))
        return CommitResult(response.charged_nanos, response.late, response.overage)

    def release(self, reservation_id: str) -> bool:
        return self._call(self._admission.Release, admission_pb2.ReleaseRequest(reservation_id=reservation_id)).released

    def check(self, attribution: dict, estimate_nanos: int) -> dict:
        response = self._call(self._admission.Check, admission_pb2.CheckRequest(
            attribution=self._attribution(attribution), estimate_nanos=estimate_nanos))
        return {
            "admitted": response.decision == types_pb2.ADMITTED,
            "reason": None if response.decision == types_pb2.ADMITTED else types_pb2.DenyReason.Name(response.reason),
            "denied_scope": response.denied_scope or None,
            "remaining_nanos": None if response.remaining_nanos == UNLIMITED else response.remaining_nanos,
        }

    def upsert_budget(self, scope: str, limit_nanos: int, parent: str = "") -> None:
        """Admin call, for demos: an operator would use `budgetctl budgets set`."""
        self._call(self._management.UpsertBudget, management_pb2.UpsertBudgetRequest(scope=scope, limit_nanos=limit_nanos, parent=parent))

    def start_job(self, tenant: str, job: str, estimate_nanos: int, cap_nanos: int = 0, feature: str = "", agent: str = ""):
        """Admin call: starts a job (task/<tenant>/<job>) with its pre-run estimate and cap. Repeating it is a no-op."""
        return self._call(self._management.StartJob, management_pb2.StartJobRequest(
            tenant=tenant, job=job, estimate_nanos=estimate_nanos, cap_nanos=cap_nanos, feature=feature, agent=agent))

    def end_task(self, scope: str, outcome: str = "") -> str:
        """Admin call: ends a task or job with an outcome ("completed", "stopped", "resolved"...); returns the one recorded."""
        return self._call(self._management.EndTask, management_pb2.EndTaskRequest(scope=scope, outcome=outcome)).outcome

    def job_report(self, tenant: str):
        """The jobs of a tenant, each with its estimates and actual cost."""
        return list(self._call(self._management.GetJobReport, management_pb2.GetJobReportRequest(tenant=tenant, page_size=1000)).jobs)
