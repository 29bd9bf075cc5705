#!/usr/bin/env python3
"""Prints SigV4 presigned URLs (path-style), one per line, for bench/objects/run.

usage: presign.py BASE_URL METHOD BUCKET KEY_PREFIX COUNT [EXPIRES]
Keys are KEY_PREFIX0 .. KEY_PREFIX<COUNT-1>. Credentials come from STOA_BENCH_ACCESS_KEY and
STOA_BENCH_SECRET_KEY, the region from STOA_BENCH_REGION. Written independently of Stoa's
C++ signer, so the bench also checks that the endpoint accepts another implementation's URLs.
"""
import datetime
import hashlib
import hmac
import os
import sys
import urllib.parse


def sign(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def main():
    base, method, bucket, prefix, count = sys.argv[1:6]
    expires = sys.argv[6] if len(sys.argv) > 6 else "3600"
    access = os.environ.get("STOA_BENCH_ACCESS_KEY", "stoa")
    secret = os.environ.get("STOA_BENCH_SECRET_KEY", "stoa-secret-key")
    region = os.environ.get("STOA_BENCH_REGION", "us-east-1")
    host = urllib.parse.urlsplit(base).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, date = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{date}/{region}/s3/aws4_request"
    key = sign(sign(sign(sign(("AWS4" + secret).encode(), date), region), "s3"), "aws4_request")
    quote = lambda s, safe="": urllib.parse.quote(s, safe=safe)  # noqa: E731
    for i in range(int(count)):
        path = f"/{quote(bucket)}/{quote(prefix + str(i), safe='/')}"
        query = "&".join([
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            f"X-Amz-Credential={quote(access + '/' + scope)}",
            f"X-Amz-Date={amz_date}",
            f"X-Amz-Expires={expires}",
            "X-Amz-SignedHeaders=host",
        ])
        canonical = f"{method}\n{path}\n{query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        print(f"{base}{path}?{query}&X-Amz-Signature={signature}")


if __name__ == "__main__":
    main()
