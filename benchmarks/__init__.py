"""otaclient's benchmark suite: ``python -m benchmarks [--smoke] [--only NAME]``.

One module per benchmark, each with ``NAME`` and ``run(smoke) -> Result``:

harvest_at_cap    a deep job harvested against a strict 10/s window with 300 ms latency
cost_per_call     requests/s and client CPU per call, against the official SDK and bare httpx
decode            microseconds per item from response bytes to models (JSON, camelCase, XML)
memory            peak RSS of 10^4 .. 10^6-item harvests, each in a fresh process
limiter           TokenBucket strictness over a long run, and the cost of one acquire
many_accounts     100 clients at 10/s each in one process
per_action_audit  the fleet audit with one bucket versus per-action quotas
transports        HTTP transports side by side at 1 to 128 in flight, HTTP and HTTPS

Client-side numbers are measured in this process (``time.process_time()``); the simulator
runs in its own process (``_serve``) so its CPU is counted apart. Results and the machine
they came from are written to ``benchmarks/results.json``; ``RESULTS.md`` discusses them.
"""
