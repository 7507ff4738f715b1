import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, bnRelu, normalizationControl } from './batch_norm.js';
import { DenseLayer, denseBlock } from './dense_block.js';
import { Conv2d, Linear } from './layers.js';
import { normalizeInput, type DenseNetConfig, type InputNorm, type InputNormFactory, type Model } from './model.js';
import { ParamStore, Scope } from './params.js';
import type { Rng } from '../engine/rng.js';

interface Transition {
  norm: BatchNorm2d;
  conv: Conv2d;
}

/** DenseNet of the reference: torchvision layout; BatchNorm non-affine with batch statistics unless configured affine (FedBN). */
export class DenseNet<N extends InputNorm = InputNorm> implements Model {
  readonly params: ParamStore;
  readonly inputNorm: N;
  private readonly conv0: Conv2d;
  private readonly norm0: BatchNorm2d;
  private readonly blocks: DenseLayer[][] = [];
  private readonly transitions: Transition[] = [];
  private readonly norm5: BatchNorm2d;
  private readonly projection: [Linear, Linear] | undefined;
  private readonly classifier: Linear;
  private readonly affine: boolean;

  constructor(
    readonly config: DenseNetConfig,
    rng: Rng,
    inputNorm: InputNormFactory<N>,
  ) {
    this.params = new ParamStore(rng);
    this.affine = config.affineBatchNorm === true;
    const root = new Scope(this.params, '');
    this.inputNorm = inputNorm(root.child('amp_norm'), config.inputShape);
    const features = root.child('features');
    const { growthRate, blockConfig, numInitFeatures, bnSize } = config;
    this.conv0 = new Conv2d(features.child('conv0'), config.inputShape[0], numInitFeatures, 7, 2, 3);
    this.norm0 = new BatchNorm2d(features.child('norm0'), numInitFeatures, this.affine);
    let n = numInitFeatures;
    blockConfig.forEach((layers, b) => {
      const block = features.child(`denseblock${b + 1}`);
      this.blocks.push(
        Array.from(
          { length: layers },
          (_, i) => new DenseLayer(block.child(`denselayer${i + 1}`), n + i * growthRate, growthRate, bnSize, this.affine),
        ),
      );
      n += layers * growthRate;
      if (b < blockConfig.length - 1) {
        const t = features.child(`transition${b + 1}`);
        this.transitions.push({
          norm: new BatchNorm2d(t.child('norm'), n, this.affine),
          conv: new Conv2d(t.child('conv'), n, Math.floor(n / 2), 1),
        });
        n = Math.floor(n / 2);
      }
    });
    this.norm5 = new BatchNorm2d(features.child('norm5'), n, this.affine);
    const dim = config.projectionDim;
    this.projection =
      dim === undefined ? undefined : [new Linear(root.child('projection.0'), n, n), new Linear(root.child('projection.2'), n, dim)];
    this.classifier = new Linear(root.child('classifier'), dim ?? n, config.numClasses);
  }

  forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.network(normalizeInput(this, x, training), training);
  }

  network(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.embed(x, training).logits;
  }

  /** Pooled features through the projection head (when configured), and the logits read from them. */
  embed(x: tf.Tensor4D, training: boolean): { z: tf.Tensor2D; logits: tf.Tensor2D } {
    let h = tf.tidy(() => tf.maxPool(this.norm0.relu(this.conv0.apply(x), training), 3, 2, 1));
    // The shared-normalization shortcut holds for batch statistics only.
    h =
      this.affine || (!training && normalizationControl(this.params).perLayer)
        ? this.layerwiseBlocks(h, training)
        : this.sharedNormBlocks(h, training);
    const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
    const z = this.projection === undefined ? pooled : this.projection[1].apply(tf.relu(this.projection[0].apply(pooled)));
    return { z, logits: this.classifier.apply(z) };
  }

  /** The blocks under shared normalization (`denseBlock`); returns BN-ReLU of the last block. */
  private sharedNormBlocks(input: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h = input;
    this.blocks.forEach((block, b) => {
      // The reference pads 2 pixels of zeros after the first dense block; the zeros change the
      // statistics, so this transition normalizes the padded raw features.
      const features =
        b === 0
          ? tf.tidy(() =>
              bnRelu(
                tf.pad(denseBlock(h, block, true, training), [
                  [0, 0],
                  [2, 2],
                  [2, 2],
                  [0, 0],
                ]),
              ),
            )
          : denseBlock(h, block, false, training);
      const transition = this.transitions[b];
      h = transition === undefined ? features : tf.tidy(() => tf.avgPool(transition.conv.apply(features), 2, 2, 0));
    });
    return h;
  }

  /** Affine BatchNorm (FedBN): each layer normalizes the whole concatenation with its own statistics and parameters. */
  private layerwiseBlocks(input: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let h = input;
    this.blocks.forEach((block, b) => {
      let features = h;
      for (const layer of block) {
        const current = features;
        features = tf.tidy(() => tf.concat([current, layer.fromNormalized(layer.norm1.relu(current, training), training)], 3));
      }
      if (b === 0) {
        const unpadded = features;
        features = tf.tidy(() =>
          tf.pad(unpadded, [
            [0, 0],
            [2, 2],
            [2, 2],
            [0, 0],
          ]),
        );
      }
      const transition = this.transitions[b];
      const out = features;
      h = tf.tidy(() =>
        transition === undefined
          ? this.norm5.relu(out, training)
          : tf.avgPool(transition.conv.apply(transition.norm.relu(out, training)), 2, 2, 0),
      );
    });
    return h;
  }

  dispose(): void {
    this.params.dispose();
  }
}
