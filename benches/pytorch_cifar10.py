"""The same CIFAR-10 recipe in PyTorch, to compare with `examples/cifar10.rs` on one machine.

conv 3->16 (3x3, padding 1), ReLU, max-pool 2, conv 16->32, ReLU, max-pool 2, flatten,
fc 2048->256, ReLU, fc 256->10; cross-entropy; Adam (lr 1e-3); batch 64; inputs normalised
with mean 0.5 and std 0.5; 2 threads. The images are decoded into memory before the
clock starts, and an epoch's time covers its training steps only, as in the Rust example.

    pip install torch numpy pillow
    python benches/pytorch_cifar10.py --data target/data/cifar10-jpg [--epochs 10]
        [--augment] [--seed N]

`--data` is an image folder with train/<class>/ and test/<class>/ (this repository unpacks
../shared/data/cifar10-jpg.tar.gz into target/data/). `--augment` is torchvision's
RandomCrop(32, padding=4) then RandomHorizontalFlip(), image by image (the padding is a
black pixel: -1 after normalisation). Prints one JSON line like the example's `--json`.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def load(root):
    """All images of an image folder as a normalised (N, 3, 32, 32) tensor, and labels."""
    images, labels = [], []
    for label, name in enumerate(sorted(os.listdir(root))):
        folder = os.path.join(root, name)
        for file in sorted(os.listdir(folder)):
            pixels = Image.open(os.path.join(folder, file)).convert("RGB")
            images.append(np.asarray(pixels, dtype=np.uint8))
            labels.append(label)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5, torch.tensor(labels)


def augmented(x):
    """A random 32x32 crop of each image padded by 4, mirrored with probability 1/2."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4), value=-1.0)
    dy, dx = torch.randint(0, 9, (n,)), torch.randint(0, 9, (n,))
    crops = torch.stack(
        [padded[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32] for i in range(n)]
    )
    flip = torch.rand(n) < 0.5
    return torch.where(flip[:, None, None, None], crops.flip(3), crops)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 8 * 8, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--augment", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(args.seed)
    x_train, y_train = load(os.path.join(args.data, "train"))
    x_test, y_test = load(os.path.join(args.data, "test"))
    net = Net()
    adam = torch.optim.Adam(net.parameters(), lr=1e-3)
    accuracies, seconds = [], []
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(len(x_train))
        start = time.perf_counter()
        for first in range(0, len(x_train), 64):
            batch = order[first : first + 64]
            x = augmented(x_train[batch]) if args.augment else x_train[batch]
            adam.zero_grad()
            F.cross_entropy(net(x), y_train[batch]).backward()
            adam.step()
        seconds.append(time.perf_counter() - start)
        net.eval()
        with torch.no_grad():
            correct = sum(
                (net(x_test[i : i + 1000]).argmax(1) == y_test[i : i + 1000]).sum().item()
                for i in range(0, len(x_test), 1000)
            )
        accuracies.append(correct / len(x_test))
        print(
            f"epoch {epoch}: test accuracy {100 * accuracies[-1]:.2f} %, "
            f"{seconds[-1]:.1f} s",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "epochs": args.epochs,
                "test_accuracy": [round(a, 4) for a in accuracies],
                "epoch_seconds": [round(s, 2) for s in seconds],
            }
        )
    )


if __name__ == "__main__":
    main()
