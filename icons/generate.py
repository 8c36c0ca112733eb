#!/usr/bin/env python3
"""Draws Deskside's icons (no dependencies beyond the standard library).

Tray states, legible at 16-32 px on light and dark panels: a filled disc
with a white ring and a thin dark outline (so it stands out on either), and
a white glyph that differs in shape, not only in colour:
  healthy  green  check mark
  warning  amber  exclamation mark
  critical red    cross
  offline  grey   slashed (no connection)
  syncing  blue   three dots
The app icon is the healthy disc on a rounded square.

Run from the repository root: python3 icons/generate.py
"""

import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SS = 4  # supersampling per axis

STATES = {
    "healthy": ((0x1E, 0x8E, 0x3E), "check"),
    "warning": ((0xE8, 0x9A, 0x00), "exclaim"),
    "critical": ((0xD3, 0x2F, 0x2F), "cross"),
    "offline": ((0x75, 0x75, 0x75), "slash"),
    "syncing": ((0x1A, 0x73, 0xE8), "dots"),
}


def seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy or 1)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def glyph_hit(kind, x, y):
    """x, y in unit coordinates (0..1) of the disc's bounding box."""
    w = 0.085  # half stroke width
    if kind == "check":
        return seg_dist(x, y, 0.28, 0.52, 0.44, 0.68) < w or seg_dist(x, y, 0.44, 0.68, 0.73, 0.35) < w
    if kind == "exclaim":
        return seg_dist(x, y, 0.5, 0.24, 0.5, 0.56) < w or math.hypot(x - 0.5, y - 0.74) < w * 1.15
    if kind == "cross":
        return seg_dist(x, y, 0.31, 0.31, 0.69, 0.69) < w or seg_dist(x, y, 0.69, 0.31, 0.31, 0.69) < w
    if kind == "slash":
        ring = abs(math.hypot(x - 0.5, y - 0.5) - 0.22) < w * 0.8
        return ring or seg_dist(x, y, 0.3, 0.7, 0.7, 0.3) < w * 0.8
    if kind == "dots":
        return any(math.hypot(x - cx, y - 0.5) < w * 1.25 for cx in (0.28, 0.5, 0.72))
    return False


def disc_pixel(x, y, colour, kind):
    """RGBA of the tray disc at unit coordinates."""
    r = math.hypot(x - 0.5, y - 0.5)
    if r > 0.5:
        return (0, 0, 0, 0)
    if r > 0.47:
        return (0x20, 0x20, 0x20, 255)  # dark outline: visible on light panels
    if r > 0.41:
        return (255, 255, 255, 255)  # white ring: visible on dark panels
    if glyph_hit(kind, x, y):
        return (255, 255, 255, 255)
    return colour + (255,)


def app_pixel(x, y):
    # Rounded square in slate, the healthy disc inside.
    m, rad = 0.04, 0.2
    cx, cy = min(max(x, m + rad), 1 - m - rad), min(max(y, m + rad), 1 - m - rad)
    if math.hypot(x - cx, y - cy) > rad:
        return (0, 0, 0, 0)
    inner = disc_pixel((x - 0.16) / 0.68, (y - 0.16) / 0.68, STATES["healthy"][0], "check")
    return inner if inner[3] else (0x26, 0x32, 0x38, 255)


def render(size, pixel):
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            acc = [0, 0, 0, 0]
            for sy in range(SS):
                for sx in range(SS):
                    c = pixel((px + (sx + 0.5) / SS) / size, (py + (sy + 0.5) / SS) / size)
                    a = c[3]
                    acc[0] += c[0] * a
                    acc[1] += c[1] * a
                    acc[2] += c[2] * a
                    acc[3] += a
            n = SS * SS
            alpha = acc[3] / n
            if acc[3]:
                row += bytes((round(acc[0] / acc[3]), round(acc[1] / acc[3]), round(acc[2] / acc[3]), round(alpha)))
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return rows


def png(size, rows):
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + r for r in rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(pngs):
    """An .ico holding PNG images (Windows Vista and later read these)."""
    head = struct.pack("<HHH", 0, 1, len(pngs))
    offset = 6 + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, data in pngs:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    return head + entries + blobs


def icns(pngs):
    """An .icns with PNG entries (ic07 128, ic08 256, ic09 512)."""
    types = {128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b"".join(types[s] + struct.pack(">I", len(d) + 8) + d for s, d in pngs if s in types)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write(path, data):
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(data)


def main():
    os.makedirs(os.path.join(HERE, "tray"), exist_ok=True)
    for name, (colour, kind) in STATES.items():
        for size in (16, 32, 64):
            suffix = "" if size == 32 else f"@{size}"
            write(f"tray/{name}{suffix}.png", png(size, render(size, lambda x, y: disc_pixel(x, y, colour, kind))))
    app = {s: png(s, render(s, app_pixel)) for s in (32, 128, 256, 512)}
    write("32x32.png", app[32])
    write("128x128.png", app[128])
    write("128x128@2x.png", app[256])
    write("icon.png", app[512])
    write("icon.ico", ico([(32, app[32]), (128, app[128]), (256, app[256])]))
    write("icon.icns", icns([(128, app[128]), (256, app[256]), (512, app[512])]))


if __name__ == "__main__":
    main()
