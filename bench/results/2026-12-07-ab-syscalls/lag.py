import importlib.machinery, importlib.util, os, sys, statistics
os.environ.setdefault("BENCH_PORT_BASE", "21000")
loader = importlib.machinery.SourceFileLoader("bench", "/work/main/tools/bench")
spec = importlib.util.spec_from_loader("bench", loader); b = importlib.util.module_from_spec(spec); loader.exec_module(b)
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
for i in range(runs):
    b.wait_outbox_drained(); b.wait_projector_idle()
    m0 = b.metrics(b.BALANCES); w0 = b.metrics(b.WALLET)
    out = b.baseline("paced", b.PORTS["WALLET_HTTP_PORT"], 1000, 20, 16, b.NACC, timeout=120)
    b.wait_outbox_drained(); b.wait_projector_idle()
    m1 = b.metrics(b.BALANCES); w1 = b.metrics(b.WALLET)
    r = b.hist_quantiles(w0, w1, "outbox_publish_lag_seconds")[0]
    v = b.hist_quantiles(m0, m1, "read_view_apply_lag_seconds")[0]
    t = b.hist_quantiles(m0, m1, "projector_apply_lag_seconds")[0]
    print("http p50 %s p99 %s | relay p50 %.1f p99 %.1f | view p50 %.1f p99 %.1f | table p50 %.1f p99 %.1f ms" % (
        out["p50_ms"], out["p99_ms"], r[0]*1000, r[1]*1000, v[0]*1000, v[1]*1000, t[0]*1000, t[1]*1000), flush=True)
