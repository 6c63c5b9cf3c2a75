# Generates cvops_ref.npz: reference outputs of OpenCV 4.6 (Debian 12 python3-opencv,
# numpy 1.24, scipy 1.10) for corrupt/cvops_test.go. Run with /usr/bin/python3 from
# this directory. Keys: <op>_<case>_in / <op>_<case>_out (plus parameters in names).
import numpy as np
import cv2
from scipy import ndimage as ndi

rs = np.random.RandomState(20240601)
out = {}


def liquid(h, w, loc, scale, sigma, thresh):
    """A spatter water layer as uint8 (the input of Canny in spatter)."""
    l = rs.normal(size=(h, w), loc=loc, scale=scale)
    l = ndi.gaussian_filter(l, sigma, mode="nearest", truncate=4.0)
    l[l < thresh] = 0
    return (l * 255).astype(np.uint8)


canny_in = {
    "liq1": liquid(32, 32, 0.62, 0.1, 0.7, 0.7),
    "liq2": liquid(32, 32, 0.65, 0.1, 0.8, 0.7),
    "liq3": liquid(32, 32, 0.65, 0.3, 1.0, 0.69),
    "liq4": liquid(27, 19, 0.65, 0.3, 1.0, 0.69),
    "liq5": liquid(40, 33, 0.65, 0.3, 2.0, 0.68),
    "blob": ndi.gaussian_filter(rs.randint(0, 256, (24, 31)).astype(np.float64), 1.2).astype(np.uint8) * 2,
    "rand": rs.randint(0, 256, (13, 17)).astype(np.uint8),
    "edge": np.pad(np.full((6, 6), 200, np.uint8), ((0, 5), (3, 0))),
    "tiny": rs.randint(0, 256, (3, 4)).astype(np.uint8),
}
for k, v in canny_in.items():
    v = np.ascontiguousarray(v)
    out["canny_%s_in" % k] = v
    out["canny_%s_50_150_out" % k] = cv2.Canny(v, 50, 150)
    out["canny_%s_20_60_out" % k] = cv2.Canny(v, 20, 60)
    out["canny_%s_150_50_out" % k] = cv2.Canny(v, 150, 50)

dist_in = {
    "liq3": 255 - cv2.Canny(canny_in["liq3"], 50, 150),
    "liq5": 255 - cv2.Canny(canny_in["liq5"], 50, 150),
    "sparse": np.where(rs.random_sample((37, 29)) < 0.01, 0, 255).astype(np.uint8),
    "one": np.pad(np.zeros((1, 1), np.uint8), ((30, 3), (1, 45)), constant_values=255),
    "full": np.full((8, 9), 255, np.uint8),
    "small": np.where(rs.random_sample((5, 3)) < 0.2, 0, 7).astype(np.uint8),
}
for k, v in dist_in.items():
    out["dist_%s_in" % k] = v
    out["dist_%s_out" % k] = cv2.distanceTransform(v, cv2.DIST_L2, 5)
    out["dist_%s_trunc20" % k] = cv2.threshold(out["dist_%s_out" % k], 20, 20, cv2.THRESH_TRUNC)[1]

f = (rs.random_sample((21, 18)) * 25).astype(np.float32)
out["boxf_a_in"] = f
out["boxf_a_out"] = cv2.blur(f, (3, 3))
d = cv2.threshold(out["dist_liq5_out"], 20, 20, cv2.THRESH_TRUNC)[1]
out["boxf_dist_in"] = d
out["boxf_dist_out"] = cv2.blur(d, (3, 3))
out["boxf_dist_u8"] = cv2.blur(d, (3, 3)).astype(np.uint8)

for k, v in {"a": rs.randint(0, 256, (19, 23)).astype(np.uint8),
             "b": rs.randint(0, 4, (8, 5)).astype(np.uint8) * 85}.items():
    out["boxu_%s_in" % k] = v
    out["boxu_%s_out" % k] = cv2.blur(v, (3, 3))

eq_in = {
    "skew": (rs.random_sample((32, 32)) ** 3 * 20).astype(np.uint8),
    "rand": rs.randint(0, 256, (17, 11)).astype(np.uint8),
    "const": np.full((6, 7), 9, np.uint8),
    "two": np.where(rs.random_sample((9, 9)) < 0.3, 3, 200).astype(np.uint8),
}
for k, v in eq_in.items():
    out["eq_%s_in" % k] = v
    out["eq_%s_out" % k] = cv2.equalizeHist(v)

ker = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
for k, v in {"a": rs.randint(0, 256, (15, 22)).astype(np.uint8),
             "eq": out["eq_skew_out"]}.items():
    out["f2d_%s_in" % k] = v
    out["f2d_%s_out" % k] = cv2.filter2D(v, cv2.CV_8U, ker)

# INTER_LINEAR resize of 3-channel images; factor in the key (x1000).
rimg = rs.randint(0, 256, (45, 61, 3)).astype(np.uint8)
smooth = np.ascontiguousarray(ndi.gaussian_filter(rimg.astype(np.float64), (3, 3, 0)).astype(np.uint8))
out["resize_rand_in"] = rimg
out["resize_smooth_in"] = smooth
tiny = ndi.gaussian_filter(rs.randint(0, 256, (7, 11, 1)).astype(np.float64), (1, 1, 0)).astype(np.uint8)
out["resize_tiny_in"] = tiny
for fac in (0.2, 0.3, 0.175, 0.142857, 0.7, 1.4, 2.25):
    out["resize_rand_%d_out" % round(fac * 1000000)] = cv2.resize(rimg, (0, 0), fx=fac, fy=fac, interpolation=cv2.INTER_LINEAR)
    out["resize_smooth_%d_out" % round(fac * 1000000)] = cv2.resize(smooth, (0, 0), fx=fac, fy=fac, interpolation=cv2.INTER_LINEAR)
    out["resize_tiny_%d_out" % round(fac * 1000000)] = cv2.resize(tiny, (0, 0), fx=fac, fy=fac, interpolation=cv2.INTER_LINEAR)[..., None]

np.savez_compressed("cvops_ref.npz", **out)
print(len(out), "arrays")
