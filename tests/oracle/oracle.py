#!/usr/bin/env python3
"""The profile accuracy oracle: data with known distributions, and a checker
that recomputes every statistic from the data itself (Python, exact) and
compares it with what nvlua reported, against the bound nvlua states.

  oracle.py gen OUTDIR [ROWS]       writes OUTDIR/data.csv, data.ndjson and
                                    OUTDIR/parts/part=K/data.csv (4 parts)
  oracle.py check DATA.csv RESULT.json LABEL
                                    RESULT.json: a metadata_extraction result
                                    or {"columns": [...]} (nv.profile result);
                                    prints one JSON line: violations, figures

Nothing here reads nvlua's code: truth comes from the generated CSV.
"""
import bisect
import csv
import datetime
import json
import math
import random
import sys

HEAVY_SHARE = 0.001  # the documented heavy-hitter floor past the exact table
EXACT_MAX = 65536    # distinct values counted exactly
DISTINCT_BOUND = 0.02
RANK_BOUND = 0.01

COLUMNS = ["id", "zipf", "day", "code1001", "email_hh", "amount", "card60k", "card70k",
           "card150k", "big"]


def gen(outdir, rows):
    rng = random.Random(20261207)
    zipf_w = [1.0 / (k ** 1.2) for k in range(1, 40001)]
    zipf_cum, acc = [], 0.0
    for w in zipf_w:
        acc += w
        zipf_cum.append(acc)
    base = datetime.date(1995, 1, 1)
    ids = list(range(1, rows + 1))
    rng.shuffle(ids)
    out = []
    for i in range(rows):
        z = bisect.bisect_left(zipf_cum, rng.random() * acc) + 1
        day = (base + datetime.timedelta(days=rng.randrange(11000))).isoformat()
        u = rng.random()
        if u < 0.04:
            email = "none@example.com"
        elif u < 0.05:
            email = "test@example.com"
        elif u < 0.055:
            email = "admin@example.com"
        elif u < 0.057:
            email = "ops@example.com"  # 0.2%: a heavy hitter in the first and last thirds only
            if rows // 3 < i < 2 * rows // 3:
                email = "user%d@mail.example.org" % i
        else:
            email = "user%d@mail.example.org" % i
        amount = "" if rng.random() < 0.08 else repr(round(rng.gauss(100.0, 15.0), 2))
        out.append([
            str(ids[i]), str(z), day, str(rng.randrange(1001)), email, amount,
            str(rng.randrange(62000)), str(rng.randrange(75000)),
            "" if rng.random() < 0.03 else str(rng.randrange(150000)),
            str(rng.randrange(10 ** 12)),
        ])
    with open(outdir + "/data.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(out)
    with open(outdir + "/data.ndjson", "w") as f:
        for r in out:
            rec = {}
            for name, v in zip(COLUMNS, r):
                if v == "":
                    rec[name] = None
                elif name in ("day", "email_hh"):
                    rec[name] = v
                elif name == "amount":
                    rec[name] = float(v)
                else:
                    rec[name] = int(v)
            f.write(json.dumps(rec) + "\n")
    import os
    nparts = 4
    for k in range(nparts):
        d = "%s/parts/part=%d" % (outdir, k + 1)
        os.makedirs(d, exist_ok=True)
        with open(d + "/data.csv", "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            w.writerows(out[k * rows // nparts:(k + 1) * rows // nparts])


def truth(path):
    cols = {}
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        vals = [[] for _ in header]
        n = 0
        for r in rd:
            n += 1
            for i, v in enumerate(r):
                vals[i].append(v)
    for name, vs in zip(header, vals):
        present = [v for v in vs if v != ""]
        freq = {}
        for v in present:
            freq[v] = freq.get(v, 0) + 1
        numeric = None
        try:
            numeric = sorted(float(v) for v in present)
        except ValueError:
            pass
        ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0].encode()))[:10]
        cols[name] = {"rows": n, "nulls": n - len(present), "non_null": len(present),
                      "freq": freq, "sorted": numeric, "ranked": ranked,
                      "distinct_numbers": len(set(numeric)) if numeric is not None else None}
    return cols


def same_value(name, a, b, t):
    if a == b:
        return True
    if t["sorted"] is not None:
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return False


def true_count(t, name, v):
    c = t["freq"].get(str(v))
    if c is not None:
        return c
    if t["sorted"] is not None:  # a typed source formats numbers its own way
        x = float(v)
        lo = bisect.bisect_left(t["sorted"], x)
        hi = bisect.bisect_right(t["sorted"], x)
        return hi - lo
    return 0


def rank_error(sorted_vals, q, v):
    """How far v is from being a q-quantile, as a fraction of n: 0 when
    some rank within [#<v, #<=v] is q*n."""
    n = len(sorted_vals)
    lo = bisect.bisect_left(sorted_vals, v)
    hi = bisect.bisect_right(sorted_vals, v)
    target = q * n
    if lo <= target <= hi:
        return 0.0
    return min(abs(lo - target), abs(hi - target)) / n


def columns_of(result):
    if "columns" in result:
        return result["columns"]
    tables = result.get("tables") or []
    if len(tables) != 1:
        raise SystemExit("expected one table, got %d" % len(tables))
    return tables[0]["columns"]


def cached_truth(data):
    """truth(data), kept beside the data (several results are checked)."""
    import os
    import pickle
    cache = data + ".truth.pickle"
    if os.path.exists(cache) and os.path.getmtime(cache) >= os.path.getmtime(data):
        with open(cache, "rb") as f:
            return pickle.load(f)
    t = truth(data)
    with open(cache, "wb") as f:
        pickle.dump(t, f)
    return t


def check(data, result_path, label):
    t_all = cached_truth(data)
    with open(result_path) as f:
        result = json.load(f)
    cols = {c["name"]: c for c in columns_of(result)}
    bad = []
    fig = {"distinct_rel_error_max": 0.0, "quantile_rank_error_max": 0.0,
           "top_exact_columns": 0, "top_exact_ok": 0, "heavy_reported": 0, "columns": 0}

    def fail(col, msg):
        bad.append("%s: %s: %s" % (label, col, msg))

    for name, t in t_all.items():
        c = cols.get(name)
        if c is None:
            fail(name, "column missing")
            continue
        fig["columns"] += 1
        nn = t["non_null"]
        nulls = c.get("null_count", 0) + c.get("empty_count", 0) + c.get("missing_count", 0) \
            if "empty_count" in c else c.get("null_count")
        if nulls != t["nulls"]:
            fail(name, "nulls %s, true %d" % (nulls, t["nulls"]))
        # distinct
        d_true = len(t["freq"])
        if t["sorted"] is not None and c.get("distinct_exact") and d_true != c["distinct_count"]:
            # a typed source counts numbers, not texts: compare distinct numbers
            d_true = t["distinct_numbers"]
        d = c.get("distinct_count")
        if c.get("distinct_exact"):
            if d != d_true:
                fail(name, "distinct_count %s stated exact, true %d" % (d, d_true))
            if d_true > EXACT_MAX:
                fail(name, "distinct stated exact past the exact threshold (%d)" % d_true)
        else:
            err = abs(d - d_true) / d_true
            fig["distinct_rel_error_max"] = max(fig["distinct_rel_error_max"], err)
            if err > DISTINCT_BOUND:
                fail(name, "distinct_count %s, true %d: error %.4f > %.2f" % (d, d_true, err, DISTINCT_BOUND))
            se = c.get("distinct_error")
            if not isinstance(se, (int, float)) or se <= 0 or err > 6 * se:
                fail(name, "distinct error %.4f against stated standard error %s" % (err, se))
            if d_true <= EXACT_MAX // 2:
                fail(name, "distinct estimated at %d true distinct values" % d_true)
        # top values
        top = c.get("top_values") or []
        ranked = t["ranked"]
        if c.get("top_values_exact"):
            fig["top_exact_columns"] += 1
            want = ranked[:10]
            ok = len(top) == len(want)
            for got, (v, cnt) in zip(top, want):
                if got.get("count_error") != 0 or got["count"] != cnt:
                    ok = False
                    fail(name, "top value %r count %s (error %s), true %d" %
                         (got["value"], got["count"], got.get("count_error"), true_count(t, name, got["value"])))
                    break
                if not same_value(name, got["value"], v, t):
                    # equal counts may tie: the value must still have that count
                    if true_count(t, name, got["value"]) != cnt:
                        ok = False
                        fail(name, "top value %r is not among the most frequent (true rank value %r)" % (got["value"], v))
                        break
            if len(top) != len(want):
                fail(name, "%d top values, %d expected" % (len(top), len(want)))
            if d_true > EXACT_MAX:
                fail(name, "top values stated exact past the exact threshold")
            fig["top_exact_ok"] += ok and 1 or 0
        else:
            floor = max(2, math.ceil(HEAVY_SHARE * nn))
            for got in top:
                tc = true_count(t, name, got["value"])
                e = got.get("count_error")
                if e is None or not (got["count"] <= tc <= got["count"] + e):
                    fail(name, "top value %r: count %s + error %s does not bound the true %d" %
                         (got["value"], got["count"], e, tc))
                if tc < floor:
                    fail(name, "top value %r is not a heavy hitter (%d < %d)" % (got["value"], tc, floor))
                fig["heavy_reported"] += 1
            # anything above 1/64 of the values (+ the floor) must be listed
            reported = {str(g["value"]) for g in top}
            for v, cnt in ranked[:10]:
                if cnt > nn / 64 + floor and v not in reported and len(top) < 10:
                    fail(name, "heavy hitter %r (%d of %d) not reported" % (v, cnt, nn))
        # quantiles
        if t["sorted"] is not None and c.get("p50") is not None:
            bound = c.get("quantile_error")
            if bound is None:
                fail(name, "quantiles without a stated error")
                bound = RANK_BOUND
            if bound > RANK_BOUND:
                fail(name, "stated quantile error %s > %s" % (bound, RANK_BOUND))
            for q, k in ((0.25, "p25"), (0.5, "p50"), (0.75, "p75")):
                re_ = rank_error(t["sorted"], q, float(c[k]))
                fig["quantile_rank_error_max"] = max(fig["quantile_rank_error_max"], re_)
                if c.get("quantiles_exact"):
                    # the exact lower quantile: the smallest v with rank >= ceil(q n)
                    i = max(1, math.ceil(q * nn)) - 1
                    if float(c[k]) != t["sorted"][i]:
                        fail(name, "%s %s stated exact, true %s" % (k, c[k], t["sorted"][i]))
                elif re_ > bound + 1e-12:
                    fail(name, "%s %s: rank error %.5f > stated %s" % (k, c[k], re_, bound))
            m = sum(t["sorted"]) / nn
            if abs(float(c["mean"]) - m) > 1e-9 * max(1.0, abs(m)):
                fail(name, "mean %s, true %r" % (c["mean"], m))
            if float(c["min"]) != t["sorted"][0] or float(c["max"]) != t["sorted"][-1]:
                fail(name, "min/max %s/%s, true %r/%r" % (c["min"], c["max"], t["sorted"][0], t["sorted"][-1]))
    print(json.dumps({"label": label, "violations": bad, "figures": fig}))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300000)
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
