#!/usr/bin/env python3
"""numpy reference for divres's diversity metrics (same formulas as diversity/).

Without arguments: times the benchmark case of diversity/bench_test.go (10 members,
10,000 inputs, 10 classes, 512-wide features) section by section, like
`go test ./diversity/ -bench Diversity -benchtime 1x`.
With --probs P.npy --labels L.npy [--features F.npy] it prints the values as JSON,
for comparing with `divres diversity`.
"""
import argparse
import json
import time

import numpy as np


def prediction(probs, labels):
    m, n, c = probs.shape
    pred = probs.argmax(axis=2)
    o = (pred == labels[None, :]).astype(np.int64)
    out = {}
    pairs = [(i, k) for i in range(m) for k in range(i + 1, m)]
    q, rho, dis, df, ratio, lab, js = [], [], [], [], [], [], []
    for i, k in pairs:
        a, b = o[i], o[k]
        n11 = np.sum(a & b); n00 = np.sum((1 - a) & (1 - b))
        n10 = np.sum(a & (1 - b)); n01 = np.sum((1 - a) & b)
        num = n11 * n00 - n01 * n10
        den = n11 * n00 + n01 * n10
        q.append(num / den if den else np.nan)
        d2 = np.sqrt(float((n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)))
        rho.append(num / d2 if d2 else np.nan)
        dis.append((n01 + n10) / n)
        df.append(n00 / n)
        ratio.append((n01 + n10) / n00 if n00 else np.nan)
        lab.append(np.mean(pred[i] != pred[k]))
        p, r = probs[i].astype(np.float64), probs[k].astype(np.float64)
        mm = (p + r) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            t1 = np.where(p > 0, p * np.log(p / mm), 0.0)
            t2 = np.where(r > 0, r * np.log(r / mm), 0.0)
        js.append(np.sum(t1 + t2) / 2 / n)
    kl = []
    for i in range(m):
        for k in range(m):
            if i != k:
                p, r = probs[i].astype(np.float64), probs[k].astype(np.float64)
                with np.errstate(divide="ignore", invalid="ignore"):
                    kl.append(np.sum(np.where(p > 0, p * np.log(p / r), 0.0)) / n)
    out.update(q_statistic=np.mean(q), correlation_rho=np.mean(rho), disagreement=np.mean(dis),
               double_fault=np.mean(df), agreement=1 - np.mean(dis), ratio_errors=np.mean(ratio),
               label_disagreement=np.mean(lab), js_divergence=np.mean(js), kl_divergence=np.mean(kl))
    l = o.sum(axis=0)
    out["entropy_e"] = np.mean(np.minimum(l, m - l)) / (m - np.ceil(m / 2))
    kw = np.sum(l * (m - l)) / (n * m * m)
    pbar = o.mean()
    out["kohavi_wolpert"] = kw
    out["kappa"] = 1 - (np.sum(l * (m - l)) / m) / (n * (m - 1) * pbar * (1 - pbar))
    out["difficulty_theta"] = np.var(l / m)
    fail = np.bincount(m - l, minlength=m + 1) / n
    i = np.arange(m + 1)
    p1 = np.sum(i / m * fail); p2 = np.sum(i * (i - 1) / (m * (m - 1)) * fail)
    out["generalized_diversity"] = 1 - p2 / p1
    out["coincident_failure_diversity"] = 0.0 if fail[0] == 1 else np.sum((m - i[1:]) / (m - 1) * fail[1:]) / (1 - fail[0])
    err = 1 - o.mean(axis=1)
    out["failure_both"] = np.mean([np.mean((1 - o[a]) & (1 - o[b])) for a, b in pairs])
    out["failure_both_independent"] = np.mean([err[a] * err[b] for a, b in pairs])
    out["all_fail"] = np.mean(l == 0)
    out["all_fail_independent"] = np.prod(err)
    return out


def linear_cka(feat):
    m, n, d = feat.shape
    xs = [f.astype(np.float64) - f.astype(np.float64).mean(axis=0) for f in feat]
    rn = [np.sum(x * x, axis=1) for x in xs]
    h, u = np.zeros((m, m)), np.zeros((m, m))
    for i in range(m):
        for k in range(i, m):
            f = np.sum((xs[i].T @ xs[k]) ** 2)
            rr = np.dot(rn[i], rn[k])
            h[i, k] = h[k, i] = f
            u[i, k] = u[k, i] = (f - rr) + rn[i].sum() * rn[k].sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * rr
    lin = h / np.sqrt(np.outer(np.diag(h), np.diag(h)))
    deb = u / np.sqrt(np.outer(np.diag(u), np.diag(u)))
    iu = np.triu_indices(m, 1)
    return {"linear_cka": lin[iu].mean(), "debiased_linear_cka": deb[iu].mean()}


def rbf_gram(x, t):
    g = x @ x.T
    sq = np.diag(g)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * g, 0)
    np.fill_diagonal(d2, 0)
    k = np.exp(-d2 / (2 * t * t * np.median(d2)))
    mr = k.mean(axis=0)
    return k - mr[None, :] - mr[:, None] + mr.mean()


def rbf_cka(feat, t=0.5, batch=1000):
    m, n, d = feat.shape
    nb = -(-n // batch)
    s = np.zeros((m, m))
    for b in range(nb):
        a0, a1 = b * n // nb, (b + 1) * n // nb
        gs = [rbf_gram(feat[i, a0:a1].astype(np.float64), t) for i in range(m)]
        for i in range(m):
            for k in range(i, m):
                v = np.sum(gs[i] * gs[k]) / np.sqrt(np.sum(gs[i] ** 2) * np.sum(gs[k] ** 2))
                s[i, k] += v / nb
                s[k, i] = s[i, k]
    return {"rbf_cka": s[np.triu_indices(m, 1)].mean()}


def bench_inputs():
    m, n, c, d = 10, 10000, 10, 512
    rng = np.random.default_rng(1)
    labels = rng.integers(0, c, n)
    e = rng.exponential(size=(m, n, c))
    e[:, np.arange(n), labels] += 1.5
    probs = (e / e.sum(axis=2, keepdims=True)).astype(np.float32)
    shared = rng.standard_normal((n, d)).astype(np.float32)
    feat = (shared[None] + 0.7 * rng.standard_normal((m, n, d))).astype(np.float32)
    return probs, labels, feat


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probs"); ap.add_argument("--labels"); ap.add_argument("--features")
    a = ap.parse_args()
    if a.probs:
        probs, labels = np.load(a.probs), np.load(a.labels)
        out = prediction(probs, labels)
        if a.features:
            f = np.load(a.features)
            out.update(linear_cka(f)); out.update(rbf_cka(f))
        print(json.dumps({k: (None if np.isnan(v) else float(v)) for k, v in out.items()}, indent=1))
        return
    probs, labels, feat = bench_inputs()
    for name, f in [("prediction", lambda: prediction(probs, labels)),
                    ("linear_cka", lambda: linear_cka(feat)),
                    ("rbf_cka", lambda: rbf_cka(feat))]:
        t0 = time.perf_counter()
        r = f()
        dt = time.perf_counter() - t0
        print(f"numpy {name:12s} {dt * 1e3:10.1f} ms  {json.dumps({k: float(v) for k, v in list(r.items())[:2]})}")


if __name__ == "__main__":
    main()
