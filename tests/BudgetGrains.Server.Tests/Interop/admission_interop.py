"""Calls a BudgetGrains silo with the standard Python gRPC stack (grpcio + stubs generated from
protos/) and prints what it saw as one JSON object. Usage: admission_interop.py ADDRESS PROTOS_DIR SCOPE_KEY"""
import json
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

address, protos, key = sys.argv[1], sys.argv[2], sys.argv[3]
out = tempfile.mkdtemp(prefix="budget-stubs-")
files = [os.path.join(protos, "budget", "v1", f) for f in ("types.proto", "settings.proto", "admission.proto", "management.proto")]
# The well-known types (google/protobuf/field_mask.proto) ship with grpc_tools.
well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
if protoc.main(["protoc", f"-I{protos}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", *files]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, out)

from budget.v1 import admission_pb2, admission_pb2_grpc, management_pb2, management_pb2_grpc, types_pb2  # noqa: E402

channel = grpc.insecure_channel(address)
admission = admission_pb2_grpc.AdmissionStub(channel)
management = management_pb2_grpc.ManagementStub(channel)
seen = {}

management.UpsertBudget(management_pb2.UpsertBudgetRequest(scope=f"tenant/{key}", limit_nanos=1000), timeout=10)
attribution = types_pb2.Attribution(tenant=key, labels={"model": "gpt-test", "environment": "interop"})

first = admission.Reserve(admission_pb2.ReserveRequest(request_id=f"{key}-1", attribution=attribution, estimate_nanos=600), timeout=10)
seen["first"] = {"decision": types_pb2.Decision.Name(first.decision), "reservation_id": first.reservation_id,
                 "remaining": first.remaining_nanos, "thresholds": list(first.crossed_thresholds)}

second = admission.Reserve(admission_pb2.ReserveRequest(request_id=f"{key}-2", attribution=attribution, estimate_nanos=600), timeout=10)
seen["second"] = {"decision": types_pb2.Decision.Name(second.decision), "reason": types_pb2.DenyReason.Name(second.reason),
                  "denied_scope": second.denied_scope}

commit = admission.Commit(admission_pb2.CommitRequest(reservation_id=first.reservation_id, actual_nanos=550, outcome="resolved"), timeout=10)
seen["commit"] = {"charged": commit.charged_nanos, "late": commit.late, "overage": commit.overage}

status = management.GetBudget(management_pb2.GetBudgetRequest(scope=f"tenant/{key}"), timeout=10)
seen["status"] = {"spent": status.spent_nanos, "held": status.held_nanos, "limit": status.limit_nanos}

for name, call in (
    ("empty_request_id", lambda: admission.Reserve(admission_pb2.ReserveRequest(attribution=attribution, estimate_nanos=1), timeout=10)),
    ("unknown_reservation", lambda: admission.Commit(admission_pb2.CommitRequest(reservation_id=f"{key}-none", actual_nanos=1), timeout=10)),
):
    try:
        call()
        seen[name] = {"code": "OK"}
    except grpc.RpcError as error:
        seen[name] = {"code": error.code().name, "details": error.details()}

print(json.dumps(seen))
