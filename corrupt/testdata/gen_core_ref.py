# Generates core_ref.npz for corrupt/core_test.go: the noise, blur and digital
# corruptions with the ImageNet-C constants on a non-square 40x48 RGB image, computed
# with the reference libraries (numpy 1.24, scipy 1.10, skimage 0.19, OpenCV 4.6,
# Pillow 9.4) following PARAMS.md section 4/7, plus OpenCV's defocus kernels and Pillow
# BOX resizes. Run with /usr/bin/python3 from this directory.
import numpy as np
import cv2
import skimage as sk
from skimage.filters import gaussian
from PIL import Image

H, W = 40, 48
yy, xx = np.mgrid[0:H, 0:W]
rs = np.random.RandomState(3)
img = np.stack([
    (yy * 255 // (H - 1)),
    (xx * 255 // (W - 1)),
    ((xx + yy) % 17) * 15,
], axis=-1).astype(np.uint8)
img[5:15, 5:20] = rs.randint(0, 256, size=(10, 15, 3))
img[20:30, 30:40] = 77
img[30:, :8] = 255

out = {"input": img}

def disk(radius, alias_blur):
    if radius <= 8:
        L = np.arange(-8, 8 + 1); ksize = (3, 3)
    else:
        L = np.arange(-radius, radius + 1); ksize = (5, 5)
    X, Y = np.meshgrid(L, L)
    d = np.array((X ** 2 + Y ** 2) <= radius ** 2, dtype=np.float32)
    d /= np.sum(d)
    return cv2.GaussianBlur(d, ksize=ksize, sigmaX=alias_blur)

defocus = [(.3, .4), (.4, .5), (.5, .6), (1, .2), (1.5, .1), (3, .1), (4, .5), (6, .5), (8, .5), (10, .5)]
for i, (r, a) in enumerate(defocus):
    out["defocus_kernel_%d" % i] = disk(r, a)

P = {
    "gaussian_noise": [.08, .12, .18, .26, .38],
    "shot_noise": [60, 25, 12, 5, 3],
    "impulse_noise": [.03, .06, .09, .17, .27],
    "speckle_noise": [.15, .2, .35, .45, .6],
    "gaussian_blur": [1, 2, 3, 4, 6],
    "glass_blur": [(.7, 1, 2), (.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)],
    "defocus_blur": defocus[5:],
    "contrast": [.4, .3, .2, .1, .05],
    "brightness": [.1, .2, .3, .4, .5],
    "saturate": [(.3, 0), (.1, 0), (2, 0), (5, .1), (20, .2)],
    "pixelate": [.6, .5, .4, .3, .25],
}

def corrupt(name, x, c):
    x = np.array(x) / 255.
    if name == "gaussian_noise":
        return np.clip(x + np.random.normal(size=x.shape, scale=c), 0, 1) * 255
    if name == "shot_noise":
        return np.clip(np.random.poisson(x * c) / c, 0, 1) * 255
    if name == "impulse_noise":
        flipped = np.random.choice([True, False], size=x.shape, p=[c, 1 - c])
        salted = np.random.choice([True, False], size=x.shape, p=[0.5, 0.5])
        o = x.copy()
        o[flipped & salted] = 1
        o[flipped & ~salted] = 0
        return np.clip(o, 0, 1) * 255
    if name == "speckle_noise":
        return np.clip(x + x * np.random.normal(size=x.shape, scale=c), 0, 1) * 255
    if name == "gaussian_blur":
        return np.clip(gaussian(x, sigma=c, channel_axis=-1), 0, 1) * 255
    if name == "glass_blur":
        u = np.uint8(gaussian(x, sigma=c[0], channel_axis=-1) * 255)
        for _ in range(c[2]):
            for h in range(H - c[1], c[1], -1):
                for w in range(W - c[1], c[1], -1):
                    dx, dy = np.random.randint(-c[1], c[1], size=(2,))
                    hp, wp = h + dy, w + dx
                    u[h, w], u[hp, wp] = u[hp, wp], u[h, w]
        return np.clip(gaussian(u / 255., sigma=c[0], channel_axis=-1), 0, 1) * 255
    if name == "defocus_blur":
        k = disk(c[0], c[1])
        ch = [cv2.filter2D(x[:, :, d], -1, k) for d in range(3)]
        return np.clip(np.array(ch).transpose((1, 2, 0)), 0, 1) * 255
    if name == "contrast":
        m = np.mean(x, axis=(0, 1), keepdims=True)
        return np.clip((x - m) * c + m, 0, 1) * 255
    if name == "brightness":
        y = sk.color.rgb2hsv(x)
        y[:, :, 2] = np.clip(y[:, :, 2] + c, 0, 1)
        return np.clip(sk.color.hsv2rgb(y), 0, 1) * 255
    if name == "saturate":
        y = sk.color.rgb2hsv(x)
        y[:, :, 1] = np.clip(y[:, :, 1] * c[0] + c[1], 0, 1)
        return np.clip(sk.color.hsv2rgb(y), 0, 1) * 255
    if name == "pixelate":
        p = Image.fromarray(np.uint8(x * 255))
        p = p.resize((int(W * c), int(H * c)), Image.BOX).resize((W, H), Image.BOX)
        return np.asarray(p)
    raise KeyError(name)

for ci, name in enumerate(P):
    for s, c in enumerate(P[name]):
        np.random.seed(1000 * ci + s + 1)
        out["%s_%d" % (name, s + 1)] = np.uint8(corrupt(name, img, c))

# Pillow BOX resizes of odd sizes (down and up, each axis alone and both).
src = rs.randint(0, 256, size=(23, 37, 3)).astype(np.uint8)
out["box_src"] = src
for (w, h) in [(17, 29), (37, 11), (5, 23), (74, 46), (36, 22), (1, 1)]:
    out["box_%dx%d" % (w, h)] = np.asarray(Image.fromarray(src).resize((w, h), Image.BOX))

np.savez_compressed("core_ref.npz", **out)
