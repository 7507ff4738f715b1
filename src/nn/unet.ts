import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d } from './batch_norm.js';
import { Conv2d, UpConv2d } from './layers.js';
import { normalizeInput, type InputNorm, type InputNormFactory, type Model, type UNetConfig } from './model.js';
import { ParamStore, Scope } from './params.js';
import type { Rng } from '../engine/rng.js';

/** Two 3x3 conv-BN-ReLU, named `<name>_conv1`, `<name>_norm1`, ... as the reference. */
class DoubleConv {
  private readonly conv1: Conv2d;
  private readonly norm1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly norm2: BatchNorm2d;

  constructor(scope: Scope, name: string, inChannels: number, features: number, affine: boolean) {
    this.conv1 = new Conv2d(scope.child(`${name}_conv1`), inChannels, features, 3, 1, 1);
    this.norm1 = new BatchNorm2d(scope.child(`${name}_norm1`), features, affine);
    this.conv2 = new Conv2d(scope.child(`${name}_conv2`), features, features, 3, 1, 1);
    this.norm2 = new BatchNorm2d(scope.child(`${name}_norm2`), features, affine);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => this.norm2.relu(this.conv2.apply(this.norm1.relu(this.conv1.apply(x), training)), training));
  }
}

const LEVELS = 4;

/** U-Net of the reference: 4 levels, bottleneck at 16x base features, 2x2 up-convolutions. */
export class UNet<N extends InputNorm = InputNorm> implements Model {
  readonly params: ParamStore;
  readonly inputNorm: N;
  private readonly encoders: DoubleConv[] = [];
  private readonly bottleneck: DoubleConv;
  private readonly upconvs: UpConv2d[] = [];
  private readonly decoders: DoubleConv[] = [];
  private readonly head: Conv2d;

  constructor(
    readonly config: UNetConfig,
    rng: Rng,
    inputNorm: InputNormFactory<N>,
  ) {
    const [, h, w] = config.inputShape;
    const multiple = 2 ** LEVELS;
    if (h % multiple !== 0 || w % multiple !== 0)
      throw new Error(
        `U-Net input ${h}x${w}: height and width must be multiples of ${multiple} (${LEVELS} 2x2 poolings); resize or crop the images`,
      );
    this.params = new ParamStore(rng);
    const affine = config.affineBatchNorm === true;
    const root = new Scope(this.params, '');
    this.inputNorm = inputNorm(root.child('amp_norm'), config.inputShape);
    const f = config.initFeatures;
    let inChannels = config.inputShape[0];
    for (let l = 1; l <= LEVELS; l++) {
      this.encoders.push(new DoubleConv(root.child(`encoder${l}`), `enc${l}`, inChannels, f * 2 ** (l - 1), affine));
      inChannels = f * 2 ** (l - 1);
    }
    this.bottleneck = new DoubleConv(root.child('bottleneck'), 'bottleneck', inChannels, f * 2 ** LEVELS, affine);
    for (let l = LEVELS; l >= 1; l--) {
      const features = f * 2 ** (l - 1);
      this.upconvs.push(new UpConv2d(root.child(`upconv${l}`), features * 2, features, 2));
      this.decoders.push(new DoubleConv(root.child(`decoder${l}`), `dec${l}`, features * 2, features, affine));
    }
    this.head = new Conv2d(root.child('conv'), f, config.outChannels, 1, 1, 0, true);
  }

  forward(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return this.network(normalizeInput(this, x, training), training);
  }

  network(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h = x;
    const skips: tf.Tensor4D[] = [];
    for (const enc of this.encoders) {
      const e = enc.apply(h, training);
      skips.push(e);
      h = tf.maxPool(e, 2, 2, 0);
    }
    h = this.bottleneck.apply(h, training);
    this.decoders.forEach((dec, i) => {
      const skip = skips[LEVELS - 1 - i]!;
      const below = h;
      h = tf.tidy(() => dec.apply(tf.concat([this.upconvs[i]!.apply(below), skip], 3), training));
    });
    return this.head.apply(h);
  }

  dispose(): void {
    this.params.dispose();
  }
}
