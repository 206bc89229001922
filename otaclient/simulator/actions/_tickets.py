"""Made-up OSS upload tickets (GenerateOTAUploadURL, GenerateDeviceNameListURL).

The values only have to look right and differ per call; nothing is ever uploaded to them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string

from .._time import MINUTE_MS, format_utc_ms
from ._context import ActionContext, Tree

__all__ = ["OSS_HOST", "upload_ticket"]

OSS_HOST = "https://iotx-ota.oss-cn-shanghai.aliyuncs.com"
_ALNUM = string.ascii_letters + string.digits


def upload_ticket(ctx: ActionContext, key: str, *, key_id_name: str) -> Tree:
    """OSS PostObject form fields for ``key``, valid one minute."""
    rng = ctx.rng
    access_key = "LTAI" + "".join(rng.choice(_ALNUM) for _ in range(20))
    policy = {
        "expiration": format_utc_ms(ctx.now_ms + MINUTE_MS),
        "conditions": [["eq", "$key", key], ["content-length-range", 0, 1_048_576_000]],
    }
    policy_b64 = base64.b64encode(json.dumps(policy, separators=(",", ":")).encode()).decode()
    secret = rng.getrandbits(128).to_bytes(16, "big")
    signature = base64.b64encode(
        hmac.new(secret, policy_b64.encode(), hashlib.sha1).digest()
    ).decode()
    return {
        "Host": OSS_HOST,
        "Key": key,
        key_id_name: access_key,
        "Policy": policy_b64,
        "Signature": signature,
        "ObjectStorage": "OSS",
        "UtcCreate": format_utc_ms(ctx.now_ms),
    }


def random_hex(ctx: ActionContext, bits: int) -> str:
    """``bits`` random bits from the request's seeded generator, as lower-case hex."""
    return f"{ctx.rng.getrandbits(bits):0{bits // 4}x}"
