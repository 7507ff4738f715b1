import * as tf from '@tensorflow/tfjs-core';
import { DENSE_BLOCK_BACKWARD } from '../engine/kernels/dense_block_backward.js';
import { DENSE_BLOCK_FORWARD, denseBlockSavedNames, type DenseBlockAttrs } from '../engine/kernels/dense_block_forward.js';
import { BatchNorm2d, BN_EPS, bnRelu } from './batch_norm.js';
import { Conv2d } from './layers.js';
import type { Scope } from './params.js';

/** A DenseNet layer: BN-ReLU, 1x1 convolution to the bottleneck, BN-ReLU, 3x3 convolution to `growth` new features. */
export class DenseLayer {
  readonly norm1: BatchNorm2d;
  readonly conv1: Conv2d;
  private readonly norm2: BatchNorm2d;
  readonly conv2: Conv2d;

  constructor(scope: Scope, inFeatures: number, growth: number, bnSize: number, affine: boolean) {
    this.norm1 = new BatchNorm2d(scope.child('norm1'), inFeatures, affine);
    this.conv1 = new Conv2d(scope.child('conv1'), inFeatures, bnSize * growth, 1);
    this.norm2 = new BatchNorm2d(scope.child('norm2'), bnSize * growth, affine);
    this.conv2 = new Conv2d(scope.child('conv2'), bnSize * growth, growth, 3, 1, 1);
  }

  /** New features from the block's input after this layer's norm1 and ReLU. */
  fromNormalized(normalized: tf.Tensor4D, training: boolean): tf.Tensor4D {
    return tf.tidy(() => this.conv2.apply(this.norm2.relu(this.conv1.apply(normalized), training)));
  }
}

/**
 * A dense block's forward pass under shared normalization (non-affine BatchNorm, batch
 * statistics), op by op: BN-ReLU of the concatenation equals the concatenation of each chunk's
 * BN-ReLU, so every chunk is normalized once and the normalized concatenation grows. Returns that
 * concatenation, or with `raw` the raw one [x, new_0, ...] (whose last chunk is then never
 * normalized).
 */
function forward(x: tf.Tensor4D, layers: DenseLayer[], raw: boolean): tf.Tensor4D {
  const chunks = [x];
  let normalized = bnRelu(x);
  layers.forEach((layer, i) => {
    const fresh = layer.fromNormalized(normalized, true);
    chunks.push(fresh);
    if (!raw || i < layers.length - 1) normalized = tf.concat([normalized, bnRelu(fresh)], 3);
  });
  return raw ? tf.concat(chunks, 3) : normalized;
}

/**
 * Whether the dense block kernels run here: registered for the backend, and channel counts they
 * take in place (the block's prefixes in whole 4-channel groups, the bottleneck in 8-channel
 * tiles, and new features that cover the input gradient's tile overhang).
 */
function fused(layers: DenseLayer[]): boolean {
  const first = layers[0];
  if (first === undefined || tf.getKernel(DENSE_BLOCK_FORWARD, tf.getBackend()) === undefined) return false;
  const [, , inChannels, bottleneck] = first.conv1.weight.shape as number[];
  const growth = first.conv2.weight.shape[3]!;
  return inChannels! % 4 === 0 && growth % 4 === 0 && growth >= 8 && bottleneck! % 8 === 0;
}

/**
 * One dense block of a non-affine DenseNet with batch statistics: BN-ReLU of [x, new_0, ...], or
 * with `raw` the raw concatenation. Where our kernels run, the block is one op
 * (`HarmoflDenseBlockForward` / `Backward`: the concatenation built in place, and in training its
 * gradient accumulated in place); elsewhere the same forward pass is differentiated op by op.
 */
export function denseBlock(x: tf.Tensor4D, layers: DenseLayer[], raw: boolean, training: boolean): tf.Tensor4D {
  if (!fused(layers)) return tf.tidy(() => forward(x, layers, raw));
  const attrs: DenseBlockAttrs = { layers: layers.length, pad: layers[0]!.conv2.padding, raw, eps: BN_EPS, save: training };
  const weights: tf.NamedTensorMap = {};
  layers.forEach((l, i) => {
    weights[`w1_${i}`] = l.conv1.weight;
    weights[`w2_${i}`] = l.conv2.weight;
  });
  const run = (input: tf.Tensor): tf.Tensor[] =>
    [tf.engine().runKernel(DENSE_BLOCK_FORWARD, { x: input, ...weights }, attrs as unknown as tf.NamedAttrMap)].flat();
  if (!training) return run(x)[0] as tf.Tensor4D;
  const names = denseBlockSavedNames(layers.length, raw);
  const op = tf.customGrad(((input: tf.Tensor4D, ...rest: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = rest[rest.length - 1] as tf.GradSaveFunc;
    const [value, ...saved] = run(input);
    // Not raw: the output is the normalized concatenation the backward pass reads.
    save(raw ? saved : [...saved, value!]);
    // `save` keeps clones (none when no gradient is recorded); the originals are not needed.
    tf.dispose(saved);
    return {
      value: value!,
      gradFunc: (dy: tf.Tensor, kept: tf.Tensor[]) => {
        const inputs: tf.NamedTensorMap = { dy, ...weights };
        (raw ? names : [...names, 'normalized']).forEach((name, i) => (inputs[name] = kept[i]!));
        return tf.engine().runKernel(DENSE_BLOCK_BACKWARD, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, ...Object.values(weights)) as tf.Tensor4D;
}
