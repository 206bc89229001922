"""A worker process for the shared-quota test: harvest one job through a Redis-shared quota.

Usage: python _worker.py BASE_URL REDIS_URL KEY JOB_ID
Prints "ready" once its client is open, then waits for a line on stdin before harvesting:
start-up is CPU-heavy, and a worker still importing would delay the others' first requests.
Then prints one task id per line.
"""

from __future__ import annotations

import sys

import anyio
import anyio.to_thread

from otaclient import OTAClient, RedisRateLimiter
from otaclient.simulator import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET


async def main(base_url: str, redis_url: str, key: str, job_id: str) -> None:
    limiter = RedisRateLimiter(redis_url, key=key, qps=10.0)
    async with OTAClient(
        endpoint=base_url,
        access_key_id=DEMO_ACCESS_KEY_ID,
        access_key_secret=DEMO_ACCESS_KEY_SECRET,
        limiter=limiter,
    ) as client:
        print("ready", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        async for task in client.iter_ota_task_by_job(job_id=job_id, page_size=20):
            print(task.task_id)
    await limiter.aclose()


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:5])
