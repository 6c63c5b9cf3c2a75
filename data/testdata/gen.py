# Regenerates the reference files of this directory (run from it with Debian's
# /usr/bin/python3: numpy 1.24, torch 1.13). The Go tests do not need Python.
import json
import numpy as np
import torch
import torch.nn.functional as F

rs = np.random.RandomState(7)

# cset/: a CIFAR-10-C style set written by numpy itself: 2 corruptions, N = 3 images
# of 4×5×3 per severity, severities 1..5 stacked; labels (5·N,) uint8 as published.
n, h, w = 3, 4, 5
expected = {}
for name, version in (("alpha", (1, 0)), ("beta", (2, 0))):
    arr = rs.randint(0, 256, size=(5 * n, h, w, 3)).astype(np.uint8)
    with open(f"cset/{name}.npy", "wb") as f:
        np.lib.format.write_array(f, arr, version=version)
    # expected planar C×H×W pixels of severities 2 and 5, images in order
    for sev in (2, 5):
        sl = arr[(sev - 1) * n:sev * n].transpose(0, 3, 1, 2)
        expected[f"{name}_{sev}"] = sl.flatten().tolist()
with open("cset_expected.json", "w") as f:
    json.dump(expected, f)
labels = np.tile(np.array([3, 1, 4], np.uint8), 5)
np.save("cset/labels.npy", labels)
# label files of every integer type for internal/npyfile's tests
np.save("../../internal/npyfile/testdata/labels_i8.npy", np.array([0, 9, 2, 7], np.int64))
np.save("../../internal/npyfile/testdata/labels_be_i2.npy", np.array([5, 6, 1], dtype=">i2"))

# resize.json: bilinear resize references (align_corners=False, no antialias),
# rounded to uint8, for a 1×5×7 image up to 8×11 and a 1×9×9 image down to 4×4.
out = {}
for key, (ih, iw, oh, ow) in {"up": (5, 7, 8, 11), "down": (9, 9, 4, 4)}.items():
    img = rs.randint(0, 256, size=(ih, iw)).astype(np.uint8)
    t = torch.from_numpy(img.astype(np.float32))[None, None]
    r = F.interpolate(t, size=(oh, ow), mode="bilinear", align_corners=False)
    res = np.clip(np.floor(r[0, 0].numpy() + 0.5), 0, 255).astype(np.uint8)
    out[key] = {"in": img.flatten().tolist(), "ih": ih, "iw": iw, "oh": oh, "ow": ow,
                "out": res.flatten().tolist()}
with open("resize.json", "w") as f:
    json.dump(out, f)
