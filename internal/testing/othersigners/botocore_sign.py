# Signs one request with botocore's SigV4Auth, as boto3 and the AWS CLI do.
# Reads {"method","url","headers","body","id","secret","region","service"}
# as JSON on stdin; writes the headers to send as JSON on stdout.
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

req = json.load(sys.stdin)
aws = AWSRequest(method=req["method"], url=req["url"], data=req["body"].encode(), headers=req["headers"])
SigV4Auth(Credentials(req["id"], req["secret"]), req["service"], req["region"]).add_auth(aws)
json.dump(dict(aws.headers.items()), sys.stdout)
