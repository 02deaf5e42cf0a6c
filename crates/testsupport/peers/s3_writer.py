"""The independent S3 writer of the tests: boto3 against a moto server.

Usage: s3_writer.py ENDPOINT OPS_JSON
OPS_JSON is a list of operations, run in order:
  {"op": "setup"}                       -> creates an IAM user with every S3
                                           right and prints its keys (the
                                           server's first unauthenticated calls)
  {"op": "create_bucket", "bucket": B}
  {"op": "put", "bucket": B, "key": K, "b64": DATA}
  {"op": "put_sized", "bucket": B, "key": K, "size": N}   (N zero bytes)
  {"op": "delete", "bucket": B, "key": K}
  {"op": "list", "bucket": B}           -> prints [{"key", "etag"}] as boto3 sees them
Operations other than setup use the keys in S3_ACCESS_KEY / S3_SECRET_KEY
(or dummy keys when unset); S3_CA_BUNDLE names the CA an HTTPS server is
checked against. Prints one JSON value per operation that
returns something.
"""
import base64
import json
import os
import sys

import boto3
from botocore.config import Config


def client(service, endpoint, access_key, secret_key):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        verify=os.environ.get("S3_CA_BUNDLE"),
    )


def main():
    endpoint = sys.argv[1]
    ops = json.loads(sys.argv[2])
    access_key = os.environ.get("S3_ACCESS_KEY", "testing")
    secret_key = os.environ.get("S3_SECRET_KEY", "testing")
    s3 = None
    for op in ops:
        kind = op["op"]
        if kind == "setup":
            iam = client("iam", endpoint, "testing", "testing")
            iam.create_user(UserName="flux")
            iam.put_user_policy(
                UserName="flux",
                PolicyName="all-s3",
                PolicyDocument=json.dumps({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }),
            )
            key = iam.create_access_key(UserName="flux")["AccessKey"]
            access_key, secret_key = key["AccessKeyId"], key["SecretAccessKey"]
            s3 = None
            print(json.dumps({"access_key": access_key, "secret_key": secret_key}))
            continue
        if s3 is None:
            s3 = client("s3", endpoint, access_key, secret_key)
        if kind == "create_bucket":
            s3.create_bucket(Bucket=op["bucket"])
        elif kind == "put":
            s3.put_object(Bucket=op["bucket"], Key=op["key"], Body=base64.b64decode(op["b64"]))
        elif kind == "put_sized":
            s3.put_object(Bucket=op["bucket"], Key=op["key"], Body=b"\0" * op["size"])
        elif kind == "delete":
            s3.delete_object(Bucket=op["bucket"], Key=op["key"])
        elif kind == "list":
            out, token = [], None
            while True:
                args = {"Bucket": op["bucket"]}
                if token:
                    args["ContinuationToken"] = token
                page = s3.list_objects_v2(**args)
                out += [{"key": o["Key"], "etag": o["ETag"]} for o in page.get("Contents", [])]
                token = page.get("NextContinuationToken")
                if not page.get("IsTruncated"):
                    break
            print(json.dumps(out))
        else:
            raise SystemExit(f"unknown op {kind}")


if __name__ == "__main__":
    main()
