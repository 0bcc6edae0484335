"""The Python reference for sluice's benchmarks: asyncio + aiohttp, the
approach most guides recommend. Reads URL lines from stdin, fetches them with
N at a time over one session, and prints one JSON line per URL, as sluice
does. Run with Debian's /usr/bin/python3 (python3-aiohttp).

    python3 bench/aiohttp_client.py 64 < urls.txt > out.ndjson
"""
import asyncio
import json
import sys
import time

import aiohttp


async def main(concurrency: int) -> None:
    urls = [line.strip() for line in sys.stdin if line.strip()]
    queue: asyncio.Queue = asyncio.Queue()
    for u in urls:
        queue.put_nowait(u)
    out = sys.stdout
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while True:
                try:
                    url = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = time.monotonic()
                try:
                    async with session.get(url) as resp:
                        body = await resp.read()
                        rec = {"url": url, "status": resp.status, "length": len(body)}
                except Exception as e:  # a failed fetch is a record too
                    rec = {"url": url, "error": str(e)}
                rec["ms"] = round((time.monotonic() - start) * 1000, 3)
                out.write(json.dumps(rec) + "\n")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 64))
