"""bindings/python/bench/bench_select.py - what the Python binding adds to
a select + report: Router.select() + Router.report() against the same
calls made from C (baseline.c) on the same request in the same process.
Cases: a precomputed key (Router.key), a small body, a 50 KB body (read in
place: the binding adds no copy, so its cost must not grow with the body).
One JSON line per case: {"bench","ns_per_op","ratio_vs","ratio"} plus
"added_ns" (binding minus C). usage: bench_select.py BASELINE_SO"""
import json
import os
import sys
import time

import sticky
from sticky import _ffi
from sticky import _request as rq

ffi, lib = _ffi.ffi, _ffi.lib
ffi.cdef("int64_t bench_c_select_report(sticky_ctx *ctx, const sticky_request *req, "
         "const sticky_channel *channels, size_t n, int64_t iterations);")
base = ffi.dlopen(sys.argv[1])
ITER = int(os.environ.get("BENCH_ITERATIONS", "200000"))
ROUNDS = 5


def body_of(system_bytes):
    return json.dumps({"model": "claude-sonnet-4-5", "system": "s" * system_bytes,
                       "messages": [{"role": "user", "content": "hello there"}]}).encode()


def c_request(router, tenant, body=None, key=None):
    r = ffi.new("sticky_request *")
    lib.sticky_request_init_sized(r, rq.REQUEST_SIZE)
    tb = ffi.new("char[]", tenant.encode())
    r.tenant, r.tenant_len = tb, len(tenant)
    keep = [tb]
    if key is not None:
        r.chain = key._chain
    else:
        buf = ffi.from_buffer(body)
        keep.append(buf)
        r.body, r.body_len = buf, len(body)
    return r, keep


def best_ns(fn, iterations):
    best = None
    for _ in range(ROUNDS):
        t = time.perf_counter_ns()
        fn(iterations)
        ns = (time.perf_counter_ns() - t) / iterations
        best = ns if best is None or ns < best else best
    return best


def run_case(name, router, cs, iterations, body=None, key=None):
    req, keep = c_request(router, "tenant-1", body=body, key=key)

    def c_loop(n):
        if base.bench_c_select_report(router._ctx, req, cs._array, len(cs), n) < 0:
            raise RuntimeError("baseline select failed")

    kwargs = {"tenant": "tenant-1", "channels": cs}
    if key is not None:
        kwargs["key"] = key
    else:
        kwargs["body"] = body
    select, report = router.select, router.report

    def py_loop(n):
        for _ in range(n):
            d = select(**kwargs)
            report(d, status=200)

    py_loop(1000)
    c_loop(1000)
    c_ns = best_ns(c_loop, iterations)
    py_ns = best_ns(py_loop, iterations)
    print(json.dumps({"bench": f"python_{name}", "ns_per_op": round(py_ns, 1),
                      "ratio_vs": f"c_{name}", "ratio": round(py_ns / c_ns, 3),
                      "c_ns_per_op": round(c_ns, 1), "added_ns": round(py_ns - c_ns, 1)}))
    return py_ns - c_ns


def main():
    cs = sticky.ChannelSet(["acct-a", "acct-b", "acct-c", "acct-d"])
    with sticky.Router() as router:
        small = body_of(0)
        large = body_of(50_000)
        run_case("select_report_key", router, cs, ITER, key=router.key(body=small,
                                                                     tenant="tenant-1"))
        run_case("select_report_small_body", router, cs, ITER, body=small)
        run_case("select_report_50kb_body", router, cs, max(ITER // 20, 1000), body=large)
        # bytearray and memoryview bodies are read in place too
        run_case("select_report_50kb_memoryview", router, cs, max(ITER // 20, 1000),
                 body=memoryview(bytearray(large)))


if __name__ == "__main__":
    main()
