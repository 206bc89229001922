"""A worker process for the shared-quota test: harvest one job through a Redis-shared quota.

Usage: python _worker.py BASE_URL REDIS_URL KEY JOB_ID START_AT
Waits until the epoch time START_AT (so every worker has finished starting up: start-up
is CPU-heavy and would delay the first requests of the others), then harvests. Prints one
task id per line, then a final line "elapsed <seconds>".
"""

from __future__ import annotations

import sys
import time

import anyio

from otaclient import OTAClient, RedisRateLimiter
from otaclient.simulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET


async def main(base_url: str, redis_url: str, key: str, job_id: str, start_at: str) -> None:
    limiter = RedisRateLimiter(redis_url, key=key, qps=10.0)
    await anyio.sleep(max(0.0, float(start_at) - time.time()))
    started = time.monotonic()
    async with OTAClient(
        endpoint=base_url,
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        limiter=limiter,
    ) as client:
        async for task in client.iter_ota_task_by_job(job_id=job_id, page_size=20):
            print(task.task_id)
    await limiter.aclose()
    print(f"elapsed {time.monotonic() - started:.3f}", flush=True)


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:6])
