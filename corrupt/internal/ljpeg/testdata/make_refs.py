#!/usr/bin/python3
"""Regenerates the reference files of package ljpeg (run from this directory with
Debian 12's /usr/bin/python3: Pillow 9.4.0 + libjpeg-turbo 2.1.5, OpenCV 4.6.0,
Wand 0.6.11 + ImageMagick 6.9.11). The Go tests never run this script; they read
the files it writes and refs.txt. See README.md."""
import hashlib, io, os
import numpy as np
import cv2
from PIL import Image
from wand.image import Image as WandImage

FROST = '../../../testdata/frost'  # copies of ../shared/corrupt/frost/frost{4,5}.jpg
lines = []


def ppm(path, a):
    h, w = a.shape[:2]
    with open(path, 'wb') as f:
        f.write(b'P6\n%d %d\n255\n' % (w, h))
        f.write(np.ascontiguousarray(a, np.uint8).tobytes())


def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a, np.uint8).tobytes()).hexdigest()


def pil_decode(data):
    im = Image.open(io.BytesIO(data))
    im.load()
    a = np.asarray(im)
    return a, (1 if a.ndim == 2 else a.shape[2])


def make_img(w, h, seed, kind):
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == 'noise':
        return rs.randint(0, 256, (h, w, 3)).astype(np.uint8)
    if kind == 'flat':
        return np.full((h, w, 3), (200, 30, 90), np.uint8)
    base = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1),
                     127 + 100 * np.sin((x + 2 * y) / 3.0)], -1)
    img = np.clip(base + rs.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    if kind == 'grey':
        img[..., 1] = img[..., 0]
        img[..., 2] = img[..., 0]
    return img


# Encoder cases: Pillow's save('JPEG', quality=q) of RGB images (the corruption's
# call), compared byte for byte; the decoded pixels are Pillow's.
all_q = [1, 7, 10, 15, 18, 25, 40, 50, 58, 65, 80, 95, 100]
few_q = [10, 58, 90]
cases = [
    ('32x32_smooth', 32, 32, 1, 'smooth', all_q),
    ('17x19_smooth', 17, 19, 2, 'smooth', all_q),
    ('32x32_noise', 32, 32, 3, 'noise', [7, 40, 80]),
    ('32x32_grey', 32, 32, 4, 'grey', [15, 58]),
    ('1x1_smooth', 1, 1, 5, 'smooth', few_q),
    ('2x2_smooth', 2, 2, 6, 'smooth', few_q),
    ('3x5_noise', 3, 5, 7, 'noise', few_q),
    ('4x4_smooth', 4, 4, 8, 'smooth', few_q),
    ('5x3_smooth', 5, 3, 9, 'smooth', few_q),
    ('7x9_smooth', 7, 9, 10, 'smooth', few_q),
    ('8x8_flat', 8, 8, 11, 'flat', few_q),
    ('16x16_smooth', 16, 16, 12, 'smooth', few_q),
    ('31x33_smooth', 31, 33, 13, 'smooth', few_q),
    ('47x21_noise', 47, 21, 14, 'noise', few_q),
    ('40x24_smooth', 40, 24, 15, 'smooth', few_q),
]
for name, w, h, seed, kind, qs in cases:
    img = make_img(w, h, seed, kind)
    ppm('in_%s.ppm' % name, img)
    for q in qs:
        b = io.BytesIO()
        Image.fromarray(img).save(b, 'JPEG', quality=q)
        fn = 'enc_%s_q%d.jpg' % (name, q)
        open(fn, 'wb').write(b.getvalue())
        dec, ch = pil_decode(b.getvalue())
        lines.append('enc %s in_%s.ppm %d %s' % (fn, name, q, sha(dec)))

# Decoder cases: other encoders and options, decoded by Pillow.
def pil_save(img, **kw):
    b = io.BytesIO()
    Image.fromarray(img).save(b, 'JPEG', **kw)
    return b.getvalue()


def magick_save(img, sf, q=75, interlace=False):
    with WandImage(blob=Image.fromarray(img)._repr_png_(), format='png') as wi:
        wi.format = 'jpeg'
        wi.compression_quality = q
        wi.options['jpeg:sampling-factor'] = sf
        if interlace:
            wi.options['interlace'] = 'JPEG'
        return wi.make_blob()


def cv_save(img, *params):
    ok, buf = cv2.imencode('.jpg', img[..., ::-1], list(params))
    assert ok
    return buf.tobytes()


a = make_img(37, 29, 21, 'smooth')
g = make_img(37, 29, 22, 'smooth')[..., 0]
n = make_img(45, 26, 23, 'noise')
dec_cases = {
    'pil_444': pil_save(a, quality=75, subsampling=0),
    'pil_422': pil_save(a, quality=75, subsampling=1),
    'pil_420_optimize': pil_save(a, quality=60, optimize=True),
    'pil_progressive': pil_save(a, quality=70, progressive=True),
    'pil_progressive_444': pil_save(n, quality=90, progressive=True, subsampling=0),
    'pil_gray': pil_save(g, quality=80),
    'pil_gray_progressive': pil_save(g, quality=50, progressive=True),
    'pil_q100_noise': pil_save(n, quality=100, subsampling=0),
    'magick_440': magick_save(a, '1x2,1x1,1x1'),
    'magick_411': magick_save(a, '4x1,1x1,1x1'),
    'magick_mixed': magick_save(n, '2x1,1x2,1x1'),
    'magick_lumasub': magick_save(a, '1x1,2x1,1x1'),
    'magick_420_progressive': magick_save(n, '2x2,1x1,1x1', 85, True),
    'magick_420_narrow': magick_save(make_img(4, 9, 24, 'smooth'), '2x2,1x1,1x1'),
    'magick_422_narrow': magick_save(make_img(3, 5, 25, 'smooth'), '2x1,1x1,1x1'),
    'cv_restart': cv_save(n, cv2.IMWRITE_JPEG_QUALITY, 85, cv2.IMWRITE_JPEG_RST_INTERVAL, 3),
    'cv_restart_progressive': cv_save(a, cv2.IMWRITE_JPEG_RST_INTERVAL, 2, cv2.IMWRITE_JPEG_PROGRESSIVE, 1),
}
for name, data in dec_cases.items():
    fn = 'dec_%s.jpg' % name
    open(fn, 'wb').write(data)
    dec, ch = pil_decode(data)
    lines.append('dec %s %d %d %d %s' % (fn, dec.shape[1], dec.shape[0], ch, sha(dec)))

# Frost textures as OpenCV's imread (BGR → RGB) sees them; Pillow must agree.
for name in ['frost4.jpg', 'frost5.jpg']:
    path = os.path.join(FROST, name)
    cvrgb = cv2.imread(path)[..., ::-1]
    pil, _ = pil_decode(open(path, 'rb').read())
    assert np.array_equal(cvrgb, pil), name
    sub = 'frost_%s_sub7.ppm' % name.split('.')[0]
    ppm(sub, cvrgb[::7, ::7])
    lines.append('frost %s %d %d %s %s' % (name, cvrgb.shape[1], cvrgb.shape[0], sha(cvrgb), sub))

open('refs.txt', 'w').write('\n'.join(lines) + '\n')
