#!/usr/bin/env python3
"""Trains the SysNoise benchmark's labelled-accuracy model once and exports it to ONNX.

A small CNN on Fashion-MNIST whose max-pools use ceil_mode (a SysNoise source: flipping it
changes the feature-map size). Data: Debian's dataset-fashion-mnist
(/usr/share/datasets/fashion-mnist). Training: Debian's python3-torch (CPU), 2 epochs, seed 0,
about 5 minutes on 2 cores. Run with the system Python:

    sudo apt-get install --no-install-recommends python3-torch dataset-fashion-mnist
    /usr/bin/python3 scripts/train_fmnist.py models/fmnist_cnn.onnx

The committed models/fmnist_cnn.onnx was made this way; sysnoise only reads it.
"""
import gzip
import sys
import time

import numpy as np
import torch
import torch.nn as nn

DATA = "/usr/share/datasets/fashion-mnist/"


def images(name):
    with gzip.open(DATA + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)


def labels(name):
    with gzip.open(DATA + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=8)


def model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),                      # 28 -> 14
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),            # 14 -> 7 (6 without ceil_mode)
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/fmnist_cnn.onnx"
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x_train = torch.tensor(images("train-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
    y_train = torch.tensor(labels("train-labels-idx1-ubyte.gz"), dtype=torch.long)
    x_test = torch.tensor(images("t10k-images-idx3-ubyte.gz"), dtype=torch.float32) / 255.0
    y_test = labels("t10k-labels-idx1-ubyte.gz")
    net = model()
    optimiser = torch.optim.Adam(net.parameters(), 2e-3)
    for epoch in range(2):
        start = time.time()
        net.train()
        order = torch.randperm(len(x_train))
        for i in range(0, len(x_train), 128):
            batch = order[i:i + 128]
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(net(x_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            accuracy = (net(x_test).argmax(1).numpy() == y_test).mean()
        print("epoch %d: %.1f s, test accuracy %.4f" % (epoch, time.time() - start, accuracy))
    torch.onnx.export(net, torch.zeros(1, 1, 28, 28), out, opset_version=13, input_names=["image"],
                      output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    print("written", out)


if __name__ == "__main__":
    main()
