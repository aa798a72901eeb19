#!/usr/bin/env python3
"""Print a SAM template as the SAM translator turns it into plain
CloudFormation (JSON on stdout), so that checkov also sees the roles, the
stage and the functions SAM generates.

Runs with the SAM CLI's venv (make checkov does), offline: the template names
no managed policy by name, so the policy loader is never asked; the region
comes from AWS_DEFAULT_REGION, local CodeUris become a placeholder S3 URI.
"""

import json
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """A managed-policy loader that knows none (and makes no AWS call)."""

    def load(self):
        return {}


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # The functions are built from local code: give the translator the S3
    # location sam deploy would (the code itself is not checked).
    for res in template.get("Resources", {}).values():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str) \
                and not props["CodeUri"].startswith("s3://"):
            props["CodeUri"] = "s3://bucket/code.zip"
    out = transform(template, {}, NoManagedPolicies())
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
