"""The example application's schema goes through the command line as the docs show."""

from __future__ import annotations

import json
import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "persistence", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cloudformation_and_iam_policy_of_the_payments_table() -> None:
    cfn = _run("tables", "cloudformation", "domain_example.adapters.mappings", "--json")
    assert cfn.returncode == 0, cfn.stderr
    document = json.loads(cfn.stdout)
    (resource,) = document["Resources"].values()
    properties = resource["Properties"]
    assert properties["TableName"] == "payments"
    assert {i["IndexName"] for i in properties["GlobalSecondaryIndexes"]} == {
        "by_owner",
        "transfers_out",
        "transfers_in",
    }
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}

    policy = _run("iam-policy", "domain_example.adapters.mappings")
    assert policy.returncode == 0, policy.stderr
    statements = json.loads(policy.stdout)["Statement"]
    resources = {r for s in statements for r in s["Resource"]}
    assert any(r.endswith(":table/payments") for r in resources)
    assert any(r.endswith(":table/payments/index/by_owner") for r in resources)
