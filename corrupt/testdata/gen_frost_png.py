# Generates frost_png/*.png (small PNGs in the formats a texture may come in) and
# frost_png_ref.npz (what OpenCV 4.6's cv2.imread(path) returns for each, converted
# BGR -> RGB) for corrupt/frost_test.go. Run with /usr/bin/python3 from this directory.
import numpy as np
import cv2
from PIL import Image

rs = np.random.RandomState(11)
out = {}
rgba = rs.randint(0, 256, (5, 7, 4)).astype(np.uint8)
Image.fromarray(rgba, "RGBA").save("frost_png/rgba8.png")
Image.fromarray(rgba[..., :3], "RGB").save("frost_png/rgb8.png")
Image.fromarray(rgba[..., 0], "L").save("frost_png/grey8.png")
Image.fromarray(rgba[..., :2], "LA").save("frost_png/greyalpha8.png")
pal = Image.fromarray(rgba[..., :3], "RGB").quantize(colors=16)
pal.info["transparency"] = 3
pal.save("frost_png/palette.png", transparency=3)
# 16-bit RGB(A) written by OpenCV itself (BGR(A) order in memory).
rgb16 = rs.randint(0, 65536, (4, 6, 3)).astype(np.uint16)
cv2.imwrite("frost_png/rgb16.png", rgb16[..., ::-1])
rgba16 = rs.randint(0, 65536, (4, 6, 4)).astype(np.uint16)
cv2.imwrite("frost_png/rgba16.png", rgba16[..., [2, 1, 0, 3]])
grey16 = rs.randint(0, 65536, (3, 5)).astype(np.uint16)
cv2.imwrite("frost_png/grey16.png", grey16)
for name in ["rgba8", "rgb8", "grey8", "greyalpha8", "palette", "rgb16", "rgba16", "grey16"]:
    im = cv2.imread("frost_png/%s.png" % name)
    out[name] = np.ascontiguousarray(im[..., ::-1])
np.savez_compressed("frost_png_ref.npz", **out)
