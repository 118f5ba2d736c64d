"""pgAdmin's servers.json from the Terraform outputs: never a password."""

from __future__ import annotations

from typing import Any


def servers_json(outputs: dict[str, Any], name: str = "DebugFlow") -> dict[str, Any]:
    """`outputs` is `terraform output -json`; pgAdmin imports the result (File > Import)."""
    if "pgadmin" not in outputs:
        raise KeyError("no `pgadmin` output: run `terraform apply` in terraform/ first")
    target = outputs["pgadmin"]["value"]
    return {
        "Servers": {
            "1": {
                "Name": name,
                "Group": "DebugFlow",
                "Host": target["host"],
                "Port": int(target["port"]),
                "MaintenanceDB": target["database"],
                "Username": target["username"],
                "SSLMode": target["sslmode"],
                "ConnectionParameters": {"sslmode": target["sslmode"], "connect_timeout": 10},
                # The password stays in Secrets Manager; pgAdmin asks for it on connect.
                "SavePassword": False,
            }
        }
    }
