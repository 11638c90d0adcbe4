#!/usr/bin/python3
"""The PyTorch peer of the loader benchmark (bench/loader_bench.sh): torch.utils.data.DataLoader over a
folder of PNGs (bench/make_png_folder.py), decoding with torchvision.io.decode_png and augmenting with
torchvision transforms the way `ember train --augment flip,rotate=15,shift=0.1,zoom=0.1` does:
a random horizontal flip, then ONE affine transform drawn from rotation ±15°, shift ±10 % and zoom
0.9–1.1 (bilinear, zero fill), then /255 to float, batches of 128 — the same work as Ember's loader.
Prints one JSON line: {"images": N, "seconds": S, "images_per_s": R, "workers": W}.

    /usr/bin/python3 bench/torch_loader.py DIR/train --workers 2 [--epochs 1] [--threads 1]
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision
from torchvision.io import ImageReadMode, decode_png, read_file
import torchvision.transforms as T


class PngFolder(torch.utils.data.Dataset):
    def __init__(self, root):
        classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        self.items = [(os.path.join(root, c, f), k) for k, c in enumerate(classes)
                      for f in sorted(os.listdir(os.path.join(root, c)))]
        if not self.items:
            sys.exit(f"{root}: no images (make them with bench/make_png_folder.py)")
        self.augment = T.Compose([
            T.RandomHorizontalFlip(),
            T.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1),
                           interpolation=T.InterpolationMode.BILINEAR, fill=0),
        ])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        image = decode_png(read_file(path), ImageReadMode.GRAY)  # uint8 [1, H, W]
        image = self.augment(image)
        return image.float().div_(255), label


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads of the main process")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = PngFolder(args.dir)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)
    start = time.perf_counter()
    seen = 0
    for _ in range(args.epochs):
        for images, labels in loader:
            seen += images.shape[0]
    seconds = time.perf_counter() - start
    print(json.dumps({"program": "pytorch-dataloader", "torchvision": torchvision.__version__,
                      "images": seen, "seconds": round(seconds, 3),
                      "images_per_s": round(seen / seconds, 1), "workers": args.workers}))


if __name__ == "__main__":
    main()
