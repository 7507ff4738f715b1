import * as tf from '@tensorflow/tfjs-core';
import { AmpNorm, type AmpNormOptions } from '../harmofl/amp_norm.js';
import { bnRelu } from './batch_norm.js';
import { Conv2d, Linear } from './layers.js';
import { normalizeInput, type DenseNetConfig, type Model } from './model.js';
import { ParamStore, Scope } from './params.js';
import type { Rng } from '../engine/rng.js';

class DenseLayer {
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;

  constructor(scope: Scope, inFeatures: number, growth: number, bnSize: number) {
    this.conv1 = new Conv2d(scope.child('conv1'), inFeatures, bnSize * growth, 1);
    this.conv2 = new Conv2d(scope.child('conv2'), bnSize * growth, growth, 3, 1, 1);
  }

  /** New features from the block's BN-ReLU'd concatenation. */
  apply(normalized: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv2.apply(bnRelu(this.conv1.apply(normalized))));
  }
}

/** DenseNet of the reference: torchvision layout with non-affine, batch-statistics BatchNorm. */
export class DenseNet implements Model {
  readonly params: ParamStore;
  readonly ampNorm: AmpNorm;
  private readonly conv0: Conv2d;
  private readonly blocks: DenseLayer[][] = [];
  private readonly transitions: Conv2d[] = [];
  private readonly classifier: Linear;

  constructor(
    readonly config: DenseNetConfig,
    rng: Rng,
    amp?: AmpNormOptions,
  ) {
    this.params = new ParamStore(rng);
    const root = new Scope(this.params, '');
    this.ampNorm = new AmpNorm(root.child('amp_norm'), config.inputShape, amp);
    const features = root.child('features');
    const { growthRate, blockConfig, numInitFeatures, bnSize } = config;
    this.conv0 = new Conv2d(features.child('conv0'), config.inputShape[0], numInitFeatures, 7, 2, 3);
    let n = numInitFeatures;
    blockConfig.forEach((layers, b) => {
      const block = features.child(`denseblock${b + 1}`);
      this.blocks.push(Array.from({ length: layers }, (_, i) => new DenseLayer(block.child(`denselayer${i + 1}`), n + i * growthRate, growthRate, bnSize)));
      n += layers * growthRate;
      if (b < blockConfig.length - 1) {
        this.transitions.push(new Conv2d(features.child(`transition${b + 1}`).child('conv'), n, Math.floor(n / 2), 1));
        n = Math.floor(n / 2);
      }
    });
    this.classifier = new Linear(root.child('classifier'), n, config.numClasses);
  }

  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.network(normalizeInput(this, x, training));
  }

  network(x: tf.Tensor4D): tf.Tensor2D {
    let h = tf.tidy(() => tf.maxPool(bnRelu(this.conv0.apply(x)), 3, 2, 1));
    this.blocks.forEach((block, b) => {
      // BatchNorm here has no affine parameters and uses per-channel batch statistics, so
      // BN-ReLU of the concatenation equals the concatenation of each chunk's BN-ReLU: every
      // chunk is normalized once and the normalized concatenation grows, instead of re-normalizing
      // an ever larger tensor in each layer (quadratic work and memory).
      const chunks = [h];
      let normalized = bnRelu(h);
      for (const layer of block) {
        const fresh = layer.apply(normalized);
        chunks.push(fresh);
        const previous = normalized;
        normalized = tf.tidy(() => tf.concat([previous, bnRelu(fresh)], 3));
      }
      const transition = this.transitions[b];
      if (b === 0) {
        // The reference pads 2 pixels of zeros after the first dense block; the zeros change the
        // statistics, so this transition normalizes the padded raw features.
        normalized = tf.tidy(() => bnRelu(tf.pad(tf.concat(chunks, 3), [[0, 0], [2, 2], [2, 2], [0, 0]])));
      }
      const features = normalized;
      if (transition !== undefined) h = tf.tidy(() => tf.avgPool(transition.apply(features), 2, 2, 0));
      else h = normalized;
    });
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    return this.classifier.apply(pooled);
  }

  dispose(): void {
    this.params.dispose();
  }
}
