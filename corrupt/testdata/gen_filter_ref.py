# Generates filter_ref.npz: reference outputs of scipy.ndimage.gaussian_filter
# (scipy 1.10, numpy 1.24) for corrupt/filter_test.go. Run with /usr/bin/python3.
import numpy as np
from scipy import ndimage as ndi

rs = np.random.RandomState(7)
inputs = {
    "a": rs.random_sample((9, 7, 3)),
    "b": rs.random_sample((6, 11, 1)) * 3 - 1,
    "c": np.full((8, 8, 3), 77 / 255.0),
}
cases = [(0.4, 4), (0.7, 4), (1.0, 4), (3.0, 4), (1.92, 3), (6.4, 3), (0.05, 4), (0.25, 4)]
modes = ["nearest", "reflect", "mirror"]
out = {}
for name, x in inputs.items():
    out["in_" + name] = x
    for s, t in cases:
        for m in modes:
            for dt in ("f64", "f32"):
                xi = x if dt == "f64" else x.astype(np.float32)
                y = ndi.gaussian_filter(xi, sigma=[s, s, 0], mode=m, truncate=t)
                out["%s_%s_%s_%g_%g" % (name, dt, m, s, t)] = y
np.savez_compressed("filter_ref.npz", **out)
