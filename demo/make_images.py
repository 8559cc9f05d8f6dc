"""Draw the demo's article images (demo/images/*.png): flat shapes and a short Latin label,
written as PNG by hand (zlib + struct), so they need no imaging library and are our own work.

    .venv/bin/python demo/make_images.py    # rewrites demo/images/ (the files are committed)

Each is 480×270 and a few kilobytes: flat colours compress well.
"""

from __future__ import annotations

import itertools
import math
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
W, H = 480, 270
RGB = tuple[int, int, int]

# 5×7 capitals, digits and a little punctuation: each glyph is seven rows of five bits.
GLYPHS = {
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 11001 10101 10011 10001 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 01010 00100 00100 00100 00100",
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11110 00001 00001 01110 00001 00001 11110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    "+": "00000 00100 00100 11111 00100 00100 00000",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    "%": "11000 11001 00010 00100 01000 10011 00011",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    " ": "00000 00000 00000 00000 00000 00000 00000",
}


class Canvas:
    def __init__(self, background: RGB) -> None:
        self.px = [list(background) * W for _ in range(H)]

    def dot(self, x: int, y: int, c: RGB) -> None:
        if 0 <= x < W and 0 <= y < H:
            self.px[y][3 * x : 3 * x + 3] = c

    def rect(self, x0: int, y0: int, x1: int, y1: int, c: RGB) -> None:
        x0, x1 = max(0, min(x0, x1)), min(W, max(x0, x1))
        for y in range(max(0, min(y0, y1)), min(H, max(y0, y1))):
            self.px[y][3 * x0 : 3 * x1] = list(c) * (x1 - x0)

    def disc(self, cx: int, cy: int, r: int, c: RGB) -> None:
        for y in range(cy - r, cy + r + 1):
            half = int(math.sqrt(max(0, r * r - (y - cy) ** 2)))
            self.rect(cx - half, y, cx + half + 1, y + 1, c)

    def line(self, points: list[tuple[int, int]], width: int, c: RGB) -> None:
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for i in range(steps + 1):
                x, y = x0 + (x1 - x0) * i // steps, y0 + (y1 - y0) * i // steps
                self.rect(x - width // 2, y - width // 2, x + width - width // 2, y + width - width // 2, c)

    def text(self, x: int, y: int, s: str, c: RGB, scale: int = 3) -> None:
        for ch in s:
            rows = GLYPHS[ch].split()
            for j, row in enumerate(rows):
                for i, bit in enumerate(row):
                    if bit == "1":
                        self.rect(x + i * scale, y + j * scale, x + (i + 1) * scale, y + (j + 1) * scale, c)
            x += 6 * scale

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.px)

        def chunk(kind: bytes, data: bytes) -> bytes:
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

        header = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


NAVY, WHITE, RED, GREEN, GOLD, SKY, STEEL, INK = (
    (24, 44, 84),
    (250, 250, 246),
    (200, 48, 40),
    (40, 150, 90),
    (230, 176, 40),
    (120, 180, 225),
    (110, 125, 140),
    (40, 40, 48),
)


def label(c: Canvas, text: str, fg: RGB = WHITE, bg: RGB = NAVY) -> None:
    c.rect(0, H - 44, W, H, bg)
    c.text(16, H - 33, text, fg)


def factory_line() -> Canvas:  # industrial profits: a production line and rising bars
    c = Canvas((232, 236, 240))
    c.rect(0, 150, W, 170, STEEL)
    for i, x in enumerate(range(30, 450, 70)):
        c.rect(x, 110, x + 40, 150, (70 + 20 * i, 110, 160))
        c.disc(x + 20, 170, 8, INK)
    for i, h in enumerate((30, 45, 60, 80)):
        c.rect(300 + 40 * i, 100 - h, 330 + 40 * i, 100, GREEN)
    label(c, "PROFIT +4.6%")
    return c


def appliances() -> Canvas:  # trade-in: a fridge, a washer and a television
    c = Canvas((246, 238, 226))
    c.rect(40, 40, 130, 220, WHITE)
    c.rect(40, 110, 130, 114, STEEL)
    c.rect(160, 110, 260, 220, WHITE)
    c.disc(210, 168, 34, SKY)
    c.disc(210, 168, 20, WHITE)
    c.rect(290, 60, 450, 160, INK)
    c.rect(298, 68, 442, 152, SKY)
    c.rect(360, 160, 380, 190, STEEL)
    c.rect(330, 190, 410, 198, STEEL)
    label(c, "TRADE-IN", bg=RED)
    return c


def port_containers() -> Canvas:  # a container terminal and a crane
    c = Canvas((196, 224, 244))
    c.rect(0, 190, W, 226, (60, 110, 160))
    colours = [RED, GREEN, GOLD, NAVY, (230, 120, 40)]
    for row in range(3):
        for col in range(6):
            x, y = 160 + col * 48, 160 - row * 28
            c.rect(x, y, x + 44, y + 24, colours[(row * 2 + col) % len(colours)])
    c.line([(60, 190), (60, 40), (200, 40)], 8, GOLD)
    c.line([(160, 40), (160, 90)], 3, INK)
    label(c, "CONTAINER PORT")
    return c


def market_board() -> Canvas:  # an index on a screen
    c = Canvas(INK)
    c.rect(20, 20, W - 20, 200, (16, 20, 28))
    pts = [
        (40, 150),
        (90, 130),
        (140, 140),
        (190, 100),
        (240, 110),
        (290, 80),
        (340, 90),
        (390, 60),
        (440, 70),
    ]
    c.line(pts, 4, RED)
    for x in range(40, 450, 50):
        c.rect(x, 170, x + 20, 190 - (x % 7) * 2, GREEN if x % 3 else RED)
    label(c, "SSE 3512.46 +0.83%", bg=(120, 20, 20))
    return c


def trading_hall() -> Canvas:  # rows of desks and screens
    c = Canvas((214, 218, 226))
    for row in range(3):
        y = 60 + row * 50
        for x in range(30, 450, 60):
            c.rect(x, y, x + 44, y + 26, INK)
            c.rect(x + 4, y + 4, x + 40, y + 22, GREEN if (x // 60 + row) % 2 else RED)
            c.rect(x - 4, y + 30, x + 48, y + 36, STEEL)
    label(c, "TRADING HALL")
    return c


def rmb_fx() -> Canvas:  # an exchange-rate line chart
    c = Canvas(WHITE)
    for y in range(40, 220, 30):
        c.rect(40, y, 450, y + 1, (220, 224, 230))
    pts = [
        (40, 120),
        (90, 110),
        (140, 130),
        (190, 100),
        (240, 90),
        (290, 105),
        (340, 80),
        (390, 70),
        (450, 76),
    ]
    c.line(pts, 4, NAVY)
    c.disc(450, 76, 7, RED)
    label(c, "USD/CNY 7.0862", bg=(20, 90, 120))
    return c


def bank_deposit() -> Canvas:  # stacked coins and a falling rate
    c = Canvas((240, 234, 214))
    for i, h in enumerate((6, 9, 12, 8)):
        x = 70 + i * 90
        for j in range(h):
            c.rect(x, 200 - j * 12, x + 60, 210 - j * 12, GOLD)
            c.rect(x, 209 - j * 12, x + 60, 210 - j * 12, (170, 120, 20))
    c.line([(330, 50), (380, 70), (430, 100)], 5, RED)
    label(c, "DEPOSIT RATES", bg=(110, 70, 20))
    return c


def nev_export() -> Canvas:  # a car on a ship
    c = Canvas((200, 226, 242))
    c.rect(0, 196, W, 226, (50, 100, 150))
    c.line([(60, 170), (420, 170), (390, 200), (90, 200), (60, 170)], 4, NAVY)
    c.rect(70, 170, 412, 198, NAVY)
    c.rect(150, 120, 330, 150, GREEN)
    c.rect(190, 100, 290, 122, GREEN)
    c.disc(190, 152, 14, INK)
    c.disc(290, 152, 14, INK)
    label(c, "NEV EXPORT +42.3%", bg=(20, 110, 70))
    return c


DRAWINGS: dict[str, Callable[[], Canvas]] = {
    "factory-line.png": factory_line,
    "appliances.png": appliances,
    "port-containers.png": port_containers,
    "market-board.png": market_board,
    "trading-hall.png": trading_hall,
    "rmb-fx.png": rmb_fx,
    "bank-deposit.png": bank_deposit,
    "nev-export.png": nev_export,
}


def main() -> int:
    IMAGES.mkdir(exist_ok=True)
    for name, draw in DRAWINGS.items():
        data = draw().png()
        (IMAGES / name).write_bytes(data)
        print(f"{IMAGES / name}: {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
