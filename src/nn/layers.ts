import * as tf from '@tensorflow/tfjs-core';
import { kaimingNormal, uniformFanIn, type Scope } from './params.js';

/** 2-D convolution, PyTorch `nn.Conv2d` semantics (symmetric explicit padding), NHWC. */
export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | undefined;

  constructor(
    scope: Scope,
    inChannels: number,
    outChannels: number,
    readonly kernel: number,
    readonly stride = 1,
    readonly padding = 0,
    withBias = false,
  ) {
    const fanIn = inChannels * kernel * kernel;
    const rng = scope.store.rng;
    this.weight = scope.store.add(
      scope.name('weight'),
      [kernel, kernel, inChannels, outChannels],
      kaimingNormal(rng, fanIn * outChannels, fanIn),
      true,
      'conv',
    );
    this.bias = withBias ? scope.store.add(scope.name('bias'), [outChannels], uniformFanIn(rng, outChannels, fanIn), true) : undefined;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = tf.conv2d(x, this.weight as tf.Tensor4D, this.stride, this.padding);
    return this.bias === undefined ? y : tf.add(y, this.bias);
  }
}

/** Transposed convolution with kernel == stride (U-Net up-convolution), PyTorch `nn.ConvTranspose2d`. */
export class UpConv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(
    scope: Scope,
    inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
  ) {
    const rng = scope.store.rng;
    // PyTorch computes fan_in of a [in, out, k, k] weight from dim 1.
    const fanIn = outChannels * kernel * kernel;
    this.weight = scope.store.add(
      scope.name('weight'),
      [kernel, kernel, outChannels, inChannels],
      kaimingNormal(rng, fanIn * inChannels, fanIn),
      true,
      'convTranspose',
    );
    this.bias = scope.store.add(scope.name('bias'), [outChannels], uniformFanIn(rng, outChannels, fanIn), true);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w] = x.shape;
    const out: [number, number, number, number] = [n, h * this.kernel, w * this.kernel, this.outChannels];
    return tf.add(tf.conv2dTranspose(x, this.weight as tf.Tensor4D, out, this.kernel, 'valid'), this.bias);
  }
}

/** Fully connected layer, PyTorch `nn.Linear` (bias initialised to zero, as the reference DenseNet). */
export class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(scope: Scope, inFeatures: number, outFeatures: number) {
    const rng = scope.store.rng;
    this.weight = scope.store.add(
      scope.name('weight'),
      [inFeatures, outFeatures],
      uniformFanIn(rng, inFeatures * outFeatures, inFeatures),
      true,
      'linear',
    );
    this.bias = scope.store.add(scope.name('bias'), [outFeatures], new Float32Array(outFeatures), true);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.weight as tf.Tensor2D), this.bias);
  }
}
