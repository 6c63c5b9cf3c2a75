"""Reference vectors for motion_blur, zoom_blur, snow, fog and elastic_transform at
sizes other than 32x32 (corrupt/geo_size_test.go).

Run with the reference environment of ../shared/corrupt/PARAMS.md (Debian 12:
numpy 1.24, scipy 1.10, scikit-image 0.19, OpenCV 4.6, Wand + ImageMagick 6.9.11 Q16):

    /usr/bin/python3 corrupt/testdata/gen_geo_ref.py

It writes corrupt/testdata/geo_ref.npz. The five functions follow the original
make_cifar_c.py / make_imagenet_c.py algorithms (PARAMS.md §3-§4, §7), calling the
same library operations; the only change is that sizes the originals hard-code (32,
224) are taken from the image: the crop of clipped_zoom per axis, the grey reshape of
snow, the crop of the fog map (32 or 256 for CIFAR/ImageNet, doubled until it
covers the image, divres's rule where the original would fail). Seeding as for
reference.npz: np.random.seed(1000*ci + severity) before each (corruption, severity)
batch, images in order.

Keys: "<set>_<corruption>_<severity>" -> uint8 (N, H, W, 3), and "<set>_inputs".
Sets: "in36" = 2 images 36x36, ImageNet constants; "ci24x36" = 1 image 24x36 (H x W),
CIFAR constants.
"""
import ctypes
import io
import os

import cv2
import numpy as np
from PIL import Image as PILImage
from scipy.ndimage import map_coordinates
from scipy.ndimage import zoom as scizoom
from skimage.filters import gaussian
from wand.api import library as wandlibrary
from wand.image import Image as WandImage

wandlibrary.MagickMotionBlurImage.argtypes = (ctypes.c_void_p, ctypes.c_double, ctypes.c_double, ctypes.c_double)


class MotionImage(WandImage):
    def motion_blur(self, radius=0.0, sigma=0.0, angle=0.0):
        wandlibrary.MagickMotionBlurImage(self.wand, radius, sigma, angle)


P = {
    "cifar": dict(
        motion=[(6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)],
        zoom=[np.arange(1, 1.06, 0.01), np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01),
              np.arange(1, 1.21, 0.01), np.arange(1, 1.26, 0.01)],
        snow=[(0.1, 0.2, 1, 0.6, 8, 3, 0.95), (0.1, 0.2, 1, 0.5, 10, 4, 0.9), (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
              (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85), (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8)],
        fog=[(.2, 3), (.5, 3), (.75, 2.5), (1, 2), (1.5, 1.75)], mapsize=32,
        elastic_size=32,
        elastic=[(0, 0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)],
    ),
    "imagenet": dict(
        motion=[(10, 3), (15, 5), (15, 8), (15, 12), (20, 15)],
        zoom=[np.arange(1, 1.11, 0.01), np.arange(1, 1.16, 0.01), np.arange(1, 1.21, 0.02),
              np.arange(1, 1.26, 0.02), np.arange(1, 1.31, 0.03)],
        snow=[(0.1, 0.3, 3, 0.5, 10, 4, 0.8), (0.2, 0.3, 2, 0.5, 12, 4, 0.7), (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
              (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65), (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55)],
        fog=[(1.5, 2), (2., 2), (2.5, 1.7), (2.5, 1.5), (3., 1.4)], mapsize=256,
        elastic_size=244,
        elastic=[(2, 0.7, 0.1), (2, 0.08, 0.2), (0.05, 0.01, 0.02), (0.07, 0.01, 0.02), (0.12, 0.01, 0.02)],
    ),
}


def clipped_zoom(img, zoom_factor):
    h, w = img.shape[:2]
    ch = int(np.ceil(h / zoom_factor))
    cw = int(np.ceil(w / zoom_factor))
    top = (h - ch) // 2
    left = (w - cw) // 2
    img = scizoom(img[top:top + ch, left:left + cw], (zoom_factor, zoom_factor, 1), order=1)
    trim_top = (img.shape[0] - h) // 2
    trim_left = (img.shape[1] - w) // 2
    return img[trim_top:trim_top + h, trim_left:trim_left + w]


def im_motion(u8, radius, sigma, angle, mode):
    out = io.BytesIO()
    PILImage.fromarray(u8, mode=mode).save(out, format="PNG")
    m = MotionImage(blob=out.getvalue())
    m.motion_blur(radius=radius, sigma=sigma, angle=angle)
    return cv2.imdecode(np.frombuffer(m.make_blob(), np.uint8), cv2.IMREAD_UNCHANGED)


def motion_blur(x, sev, p):
    radius, sigma = p["motion"][sev - 1]
    y = im_motion(x, radius, sigma, np.random.uniform(-45, 45), "RGB")
    if y.ndim == 2:
        return np.stack([y, y, y], axis=-1)
    return y[..., [2, 1, 0]]


def zoom_blur(x, sev, p):
    c = p["zoom"][sev - 1]
    x = (np.array(x) / 255.).astype(np.float32)
    out = np.zeros_like(x)
    for z in c:
        out += clipped_zoom(x, z)
    x = (x + out) / (len(c) + 1)
    return np.uint8(np.clip(x, 0, 1) * 255)


def snow(x, sev, p):
    c = p["snow"][sev - 1]
    h, w = x.shape[:2]
    x = np.array(x, dtype=np.float32) / 255.
    layer = np.random.normal(size=x.shape[:2], loc=c[0], scale=c[1])
    layer = clipped_zoom(layer[..., np.newaxis], c[2])
    layer[layer < c[3]] = 0
    l8 = (np.clip(layer.squeeze(), 0, 1) * 255).astype(np.uint8)
    layer = im_motion(l8, c[4], c[5], np.random.uniform(-135, -45), "L") / 255.
    layer = layer[..., np.newaxis]
    x = c[6] * x + (1 - c[6]) * np.maximum(x, cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).reshape(h, w, 1) * 1.5 + 0.5)
    return np.uint8(np.clip(x + layer + np.rot90(layer, k=2), 0, 1) * 255)


def plasma_fractal(mapsize, wibbledecay):
    maparray = np.empty((mapsize, mapsize), dtype=np.float64)
    maparray[0, 0] = 0
    stepsize = mapsize
    wibble = 100

    def wibbledmean(array):
        return array / 4 + wibble * np.random.uniform(-wibble, wibble, array.shape)

    def fillsquares():
        cornerref = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        squareaccum = cornerref + np.roll(cornerref, shift=-1, axis=0)
        squareaccum += np.roll(squareaccum, shift=-1, axis=1)
        maparray[stepsize // 2:mapsize:stepsize, stepsize // 2:mapsize:stepsize] = wibbledmean(squareaccum)

    def filldiamonds():
        drgrid = maparray[stepsize // 2:mapsize:stepsize, stepsize // 2:mapsize:stepsize]
        ulgrid = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        ltsum = (drgrid + np.roll(drgrid, 1, axis=0)) + (ulgrid + np.roll(ulgrid, -1, axis=1))
        maparray[0:mapsize:stepsize, stepsize // 2:mapsize:stepsize] = wibbledmean(ltsum)
        ttsum = (drgrid + np.roll(drgrid, 1, axis=1)) + (ulgrid + np.roll(ulgrid, -1, axis=0))
        maparray[stepsize // 2:mapsize:stepsize, 0:mapsize:stepsize] = wibbledmean(ttsum)

    while stepsize >= 2:
        fillsquares()
        filldiamonds()
        stepsize //= 2
        wibble /= wibbledecay
    maparray -= maparray.min()
    return maparray / maparray.max()


def fog(x, sev, p):
    c = p["fog"][sev - 1]
    h, w = x.shape[:2]
    x = np.array(x) / 255.
    max_val = x.max()
    mapsize = p["mapsize"]
    while mapsize < max(h, w):  # divres's rule where the original map is too small
        mapsize *= 2
    x += c[0] * plasma_fractal(mapsize, c[1])[:h, :w][..., np.newaxis]
    return np.uint8(np.clip(x * max_val / (max_val + c[0]), 0, 1) * 255)


def elastic_transform(image, sev, p):
    s = p["elastic_size"]
    f = p["elastic"][sev - 1]
    c = (s * f[0], s * f[1], s * f[2])
    image = np.array(image, dtype=np.float32) / 255.
    shape = image.shape
    shape_size = shape[:2]
    center_square = np.float32(shape_size) // 2
    square_size = min(shape_size) // 3
    pts1 = np.float32([center_square + square_size,
                       [center_square[0] + square_size, center_square[1] - square_size],
                       center_square - square_size])
    pts2 = pts1 + np.random.uniform(-c[2], c[2], size=pts1.shape).astype(np.float32)
    M = cv2.getAffineTransform(pts1, pts2)
    image = cv2.warpAffine(image, M, shape_size[::-1], borderMode=cv2.BORDER_REFLECT_101)
    dx = (gaussian(np.random.uniform(-1, 1, size=shape[:2]), c[1], mode='reflect', truncate=3) * c[0]).astype(np.float32)
    dy = (gaussian(np.random.uniform(-1, 1, size=shape[:2]), c[1], mode='reflect', truncate=3) * c[0]).astype(np.float32)
    dx, dy = dx[..., np.newaxis], dy[..., np.newaxis]
    x, y, z = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]), np.arange(shape[2]))
    indices = np.reshape(y + dy, (-1, 1)), np.reshape(x + dx, (-1, 1)), np.reshape(z, (-1, 1))
    return np.uint8(np.clip(map_coordinates(image, indices, order=1, mode='reflect').reshape(shape), 0, 1) * 255)


FUNCS = [(5, "motion_blur", motion_blur), (6, "zoom_blur", zoom_blur), (7, "snow", snow),
         (9, "fog", fog), (12, "elastic_transform", elastic_transform)]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    inputs = np.load(os.path.join(here, "inputs.npy"))
    # Natural-photo crops (64..79) enlarged/tiled to the test sizes with Pillow.
    a = np.array(PILImage.fromarray(inputs[64]).resize((36, 36), PILImage.BILINEAR))
    b = np.array(PILImage.fromarray(inputs[70]).resize((36, 36), PILImage.BILINEAR))
    c = np.array(PILImage.fromarray(inputs[75]).resize((36, 24), PILImage.BILINEAR))
    sets = {"in36": ("imagenet", np.stack([a, b])), "ci24x36": ("cifar", c[np.newaxis])}
    out = {}
    for name, (pset, imgs) in sets.items():
        out[name + "_inputs"] = imgs
        for ci, cname, fn in FUNCS:
            for sev in range(1, 6):
                np.random.seed(1000 * ci + sev)
                out["%s_%s_%d" % (name, cname, sev)] = np.stack([fn(x, sev, P[pset]) for x in imgs]).astype(np.uint8)
    np.savez_compressed(os.path.join(here, "geo_ref.npz"), **out)


if __name__ == "__main__":
    main()
