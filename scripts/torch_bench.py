#!/usr/bin/env python3
"""Times harmofl's bench step in PyTorch (CPU), for `npm run bench -- --torch`.

The same networks and the same HarmoFL client step as harmofl's bench
(src/bench/train_step_task.ts), written from ../shared/REFERENCE.md and our model
code: BatchNorm without affine parameters, always on batch statistics; AmpNorm first;
weight perturbation (alpha 0.05: two forward and two backward passes); SGD.

Prints one JSON line on stdout:
  {"imagesPerSecond": ..., "threads": ..., "torch": ..., "seconds": ..., "params": ...}
Errors go to stderr with a non-zero exit status.
"""

import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-5
DICE_SMOOTH = 1e-5
ALPHA = 0.05
# The paper's running-amplitude momentum, which harmofl's bench uses whenever L > 0.
AMP_MOMENTUM = 0.1
UNET_LEVELS = 4


def batch_norm(x):
    """BatchNorm of the reference: no affine parameters, no running statistics, batch statistics."""
    return F.batch_norm(x, None, None, training=True, eps=BN_EPS)


def bn_relu(x):
    return F.relu(batch_norm(x))


def conv(cin, cout, kernel, stride=1, padding=0, bias=False):
    layer = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=bias)
    # Kaiming-normal (fan in, ReLU gain) as the reference and src/nn/layers.ts.
    nn.init.kaiming_normal_(layer.weight)
    return layer


class DenseLayer(nn.Module):
    def __init__(self, cin, growth, bn_size):
        super().__init__()
        self.conv1 = conv(cin, bn_size * growth, 1)
        self.conv2 = conv(bn_size * growth, growth, 3, padding=1)

    def forward(self, features):
        # The reference (torchvision layout) normalizes the whole concatenation in every layer.
        return self.conv2(bn_relu(self.conv1(bn_relu(features))))


class DenseNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        growth, bn_size = cfg["growthRate"], cfg["bnSize"]
        n = cfg["numInitFeatures"]
        self.conv0 = conv(cfg["inputShape"][0], n, 7, stride=2, padding=3)
        self.blocks = nn.ModuleList()
        self.transitions = nn.ModuleList()
        block_config = cfg["blockConfig"]
        for b, layers in enumerate(block_config):
            self.blocks.append(nn.ModuleList(DenseLayer(n + i * growth, growth, bn_size) for i in range(layers)))
            n += layers * growth
            if b < len(block_config) - 1:
                self.transitions.append(conv(n, n // 2, 1))
                n //= 2
        self.classifier = nn.Linear(n, cfg["numClasses"])
        nn.init.zeros_(self.classifier.bias)

    def forward(self, x):
        h = F.max_pool2d(bn_relu(self.conv0(x)), 3, stride=2, padding=1)
        for b, block in enumerate(self.blocks):
            for layer in block:
                h = torch.cat([h, layer(h)], 1)
            if b == 0:
                # The reference pads 2 pixels of zeros after the first dense block.
                h = F.pad(h, (2, 2, 2, 2))
            if b < len(self.transitions):
                h = F.avg_pool2d(self.transitions[b](bn_relu(h)), 2, stride=2)
        return self.classifier(bn_relu(h).mean((2, 3)))


class DoubleConv(nn.Module):
    def __init__(self, cin, features):
        super().__init__()
        self.conv1 = conv(cin, features, 3, padding=1)
        self.conv2 = conv(features, features, 3, padding=1)

    def forward(self, x):
        return bn_relu(self.conv2(bn_relu(self.conv1(x))))


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        f = cfg["initFeatures"]
        cin = cfg["inputShape"][0]
        self.encoders = nn.ModuleList()
        for level in range(UNET_LEVELS):
            self.encoders.append(DoubleConv(cin, f * 2**level))
            cin = f * 2**level
        self.bottleneck = DoubleConv(cin, f * 2**UNET_LEVELS)
        self.upconvs = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for level in reversed(range(UNET_LEVELS)):
            features = f * 2**level
            self.upconvs.append(nn.ConvTranspose2d(features * 2, features, 2, stride=2))
            self.decoders.append(DoubleConv(features * 2, features))
        self.head = nn.Conv2d(f, cfg["outChannels"], 1)

    def forward(self, x):
        skips = []
        h = x
        for enc in self.encoders:
            h = enc(h)
            skips.append(h)
            h = F.max_pool2d(h, 2, stride=2)
        h = self.bottleneck(h)
        for up, dec, skip in zip(self.upconvs, self.decoders, reversed(skips)):
            # Upsampled features first, then the skip, as the reference concatenates them.
            h = dec(torch.cat([up(h), skip], 1))
        return self.head(h)


class AmpNorm:
    """Amplitude normalization with a running [C, H, W] amplitude (unshifted FFT layout)."""

    def __init__(self, shape, L, momentum):
        self.running = torch.zeros(shape)
        self.L = L
        self.momentum = momentum
        c, h, w = shape
        b = math.floor(min(h, w) * L)
        centred = torch.zeros(h, w, dtype=torch.bool)
        centred[max(0, h // 2 - b) : h // 2 + b + 1, max(0, w // 2 - b) : w // 2 + b + 1] = True
        # The square is centred after fftshift; ifftshift brings it to the unshifted layout.
        self.low = torch.fft.ifftshift(centred)

    def observe(self, x):
        """The first batch sets the running amplitude; later ones move it as an EMA (never with momentum 0)."""
        empty = not bool(self.running.any())
        if not empty and self.momentum == 0:
            return
        amp = torch.fft.fft2(x).abs().mean(0)
        self.running = amp if empty else (1 - self.momentum) * self.running + self.momentum * amp

    def apply(self, x):
        if self.L == 0:
            # Replacing the DC amplitude with its phase kept moves each channel's mean to
            # sign(mean) * A_dc / (H * W); a zero mean counts as positive (atan2(0, 0) = 0).
            h, w = x.shape[2], x.shape[3]
            mean = x.mean((2, 3), keepdim=True)
            sign = torch.where(mean >= 0, 1.0, -1.0)
            return x - mean + sign * self.running[:, :1, :1] / (h * w)
        spectrum = torch.fft.fft2(x)
        amp = torch.where(self.low, self.running, spectrum.abs())
        return torch.fft.ifft2(torch.polar(amp, spectrum.angle())).real


def soft_dice_loss(logits, target):
    classes = logits.shape[1]
    p = logits.softmax(1)
    t = F.one_hot(target, classes).permute(0, 3, 1, 2).to(p.dtype)
    inter = (p * t).sum((0, 2, 3))
    union = p.sum((0, 2, 3)) + t.sum((0, 2, 3))
    return 1 - ((2 * inter + DICE_SMOOTH) / (union + DICE_SMOOTH)).mean()


def task_loss(kind, logits, labels):
    if kind == "densenet":
        return F.cross_entropy(logits, labels)
    return (F.cross_entropy(logits, labels) + soft_dice_loss(logits, labels)) / 2


def positive_int(value, name):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"model config: {name} must be a positive integer, got {value!r}")
    return value


def check_config(cfg):
    """Validates a harmofl ModelConfig (src/nn/model.ts) as this script supports it."""
    if not isinstance(cfg, dict):
        raise ValueError("model config must be a JSON object")
    shape = cfg.get("inputShape")
    if not isinstance(shape, list) or len(shape) != 3:
        raise ValueError("model config: inputShape must be [channels, height, width]")
    for s in shape:
        positive_int(s, "inputShape")
    if cfg.get("affineBatchNorm") or cfg.get("projectionDim") is not None:
        raise ValueError("model config: affineBatchNorm and projectionDim are not benchmarked")
    kind = cfg.get("kind")
    if kind == "densenet":
        for key in ("growthRate", "numInitFeatures", "bnSize", "numClasses"):
            positive_int(cfg.get(key), key)
        blocks = cfg.get("blockConfig")
        if not isinstance(blocks, list) or not blocks:
            raise ValueError("model config: blockConfig must be a non-empty list")
        for b in blocks:
            positive_int(b, "blockConfig")
    elif kind == "unet":
        positive_int(cfg.get("initFeatures"), "initFeatures")
        positive_int(cfg.get("outChannels"), "outChannels")
        multiple = 2**UNET_LEVELS
        if shape[1] % multiple or shape[2] % multiple:
            raise ValueError(f"model config: U-Net height and width must be multiples of {multiple}")
    else:
        raise ValueError(f"model config: kind must be densenet or unet, got {kind!r}")
    return cfg


def build(cfg):
    return DenseNet(cfg) if cfg["kind"] == "densenet" else UNet(cfg)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="harmofl ModelConfig as JSON")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--amp-l", type=float, default=0.0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mode", choices=["train", "predict"], default="train")
    p.add_argument("--count-only", action="store_true", help='print {"params": ...} and exit')
    args = p.parse_args(argv)
    for name in ("batch", "steps", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.warmup < 0 or args.amp_l < 0:
        p.error("--warmup and --amp-l must not be negative")
    return args


def main(argv):
    args = parse_args(argv)
    # Before any parallel work: PyTorch refuses to change its pools afterwards.
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    cfg = check_config(json.loads(args.config))
    torch.manual_seed(args.seed)
    model = build(cfg)
    params = [p for p in model.parameters() if p.requires_grad]
    count = sum(p.numel() for p in params)
    if args.count_only:
        print(json.dumps({"params": count}))
        return

    c, h, w = cfg["inputShape"]
    x = torch.rand(args.batch, c, h, w)
    if cfg["kind"] == "densenet":
        labels = torch.arange(args.batch) % 2
    else:
        labels = (x.mean(1) > 0.5).long()
    amp = AmpNorm((c, h, w), args.amp_l, AMP_MOMENTUM if args.amp_l > 0 else 0.0)
    sgd = torch.optim.SGD(params, lr=1e-3, momentum=0.9, weight_decay=1e-4)

    def loss_grads(inputs):
        loss = task_loss(cfg["kind"], model(inputs), labels)
        return torch.autograd.grad(loss, params)

    def train_step():
        with torch.no_grad():
            amp.observe(x)
            inputs = amp.apply(x)
        grads = loss_grads(inputs)
        with torch.no_grad():
            norm = torch.sqrt(sum((g * g).sum() for g in grads))
            scale = ALPHA / norm if norm > 0 else 0.0
            saved = [p.clone() for p in params]
            for p, g in zip(params, grads):
                p.add_(g * scale)
        grads = loss_grads(inputs)
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)
        for p, g in zip(params, grads):
            p.grad = g
        sgd.step()

    def predict_step():
        # Evaluation still normalizes with batch statistics, as the reference.
        with torch.no_grad():
            model(amp.apply(x))

    model.train(args.mode == "train")
    step = train_step if args.mode == "train" else predict_step
    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "imagesPerSecond": args.batch * args.steps / seconds,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "seconds": seconds,
                "params": count,
            }
        )
    )


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as e:  # noqa: BLE001 - one line for the caller, the trace is noise
        print(f"torch_bench: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
