#!/usr/bin/python3
"""Writes Fashion-MNIST as a folder of PNG files, one sub-folder per class, for the image-folder
benchmarks of issue 12 (bench/README.md, "Input pipeline"):

    OUT/train/<k>_<name>/<index>.png   60,000 files
    OUT/test/<k>_<name>/<index>.png    10,000 files

The class folders are prefixed with the label so that their sorted order (Keras's and Ember's
class order) is the label order. PNGs are 8-bit greyscale, written with zlib only (no PIL), so the
script needs nothing beyond numpy.

    /usr/bin/python3 bench/make_png_folder.py OUT [--data /usr/share/datasets/fashion-mnist]
"""
import argparse
import gzip
import os
import struct
import sys
import zlib

import numpy as np

CLASSES = ["t-shirt_top", "trouser", "pullover", "dress", "coat",
           "sandal", "shirt", "sneaker", "bag", "ankle_boot"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def png_bytes(image):
    height, width = image.shape
    rows = b"".join(b"\x00" + image[r].tobytes() for r in range(height))  # filter type 0 per row

    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload +
                struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) +
            chunk(b"IEND", b""))


def find(data_dir, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return path
    sys.exit(f"{data_dir}: {stem}(.gz) not found (install Debian's dataset-fashion-mnist)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    for split, stem in (("train", "train"), ("test", "t10k")):
        images = read_idx(find(args.data, f"{stem}-images-idx3-ubyte"))
        labels = read_idx(find(args.data, f"{stem}-labels-idx1-ubyte"))
        for k, name in enumerate(CLASSES):
            os.makedirs(os.path.join(args.out, split, f"{k}_{name}"), exist_ok=True)
        for i, (image, label) in enumerate(zip(images, labels)):
            path = os.path.join(args.out, split, f"{label}_{CLASSES[label]}", f"{i:05d}.png")
            with open(path, "wb") as f:
                f.write(png_bytes(image))
            if (i + 1) % 10000 == 0:
                print(f"{split}: {i + 1}/{len(images)}", file=sys.stderr)
    print(f"wrote {args.out}/train and {args.out}/test", file=sys.stderr)


if __name__ == "__main__":
    main()
