# Generates spatter_ref.npz for corrupt/spatter_test.go: spatter on non-CIFAR sizes,
# written from PARAMS.md's description with the reference libraries (numpy 1.24
# legacy RandomState, scipy 1.10 gaussian_filter = skimage 0.19 gaussian, OpenCV 4.6).
# Run with /usr/bin/python3 from this directory.
import numpy as np
import cv2
from scipy import ndimage as ndi

CIFAR = [(.62, .1, .7, .7, .5, 0), (.65, .1, .8, .7, .5, 0), (.65, .3, 1, .69, .5, 0),
         (.65, .1, .7, .69, .6, 1), (.65, .1, .5, .68, .6, 1)]
IMAGENET = [(.65, .3, 4, .69, .6, 0), (.65, .3, 3, .68, .6, 0), (.65, .3, 2, .68, .5, 0),
            (.65, .3, 1, .65, 1.5, 1), (.67, .4, 1, .65, 1.5, 1)]


def gauss(a, s):
    return ndi.gaussian_filter(a, s, mode="nearest", truncate=4.0)


def spatter(img, c, rng):
    x = np.array(img, dtype=np.float32) / 255
    liquid = rng.normal(size=x.shape[:2], loc=c[0], scale=c[1])
    liquid = gauss(liquid, c[2])
    liquid[liquid < c[3]] = 0
    if c[5] == 0:
        l8 = (liquid * 255).astype(np.uint8)
        dist = cv2.distanceTransform(255 - cv2.Canny(l8, 50, 150), cv2.DIST_L2, 5)
        _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
        dist = cv2.blur(dist, (3, 3)).astype(np.uint8)
        dist = cv2.equalizeHist(dist)
        dist = cv2.filter2D(dist, cv2.CV_8U, np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]))
        dist = cv2.blur(dist, (3, 3)).astype(np.float32)
        m = (l8 * dist)[..., None]
        with np.errstate(invalid="ignore"):
            m = m / np.max(m)
        m *= c[4]
        col = np.array([175 / 255., 238 / 255., 238 / 255.], dtype=np.float32)
        return np.uint8(np.clip(x + m * col, 0, 1) * 255)
    m = np.where(liquid > c[3], 1, 0).astype(np.float32)
    m = gauss(m, c[4])
    m[m < 0.8] = 0
    col = np.array([63 / 255., 42 / 255., 20 / 255.], dtype=np.float32) * m[..., None]
    x *= (1 - m[..., None])
    return np.uint8(np.clip(x + col, 0, 1) * 255)


rs = np.random.RandomState(5)
out = {}
img = ndi.gaussian_filter(rs.randint(0, 256, (48, 40, 3)).astype(np.float64), (2, 2, 0)).astype(np.uint8)
big = ndi.gaussian_filter(rs.randint(0, 256, (72, 96, 3)).astype(np.float64), (3, 3, 0)).astype(np.uint8)
out["img_cifar"] = img
out["img_imagenet"] = big
for sev in range(1, 6):
    out["cifar_%d" % sev] = spatter(img, CIFAR[sev - 1], np.random.RandomState(100 + sev))
    out["imagenet_%d" % sev] = spatter(big, IMAGENET[sev - 1], np.random.RandomState(200 + sev))
# No water at all (loc far below the threshold): 0/0 makes the whole image 0.
out["dry"] = spatter(img, (0.1, 0.01, 0.7, 0.7, 0.5, 0), np.random.RandomState(7))
np.savez_compressed("spatter_ref.npz", **out)
