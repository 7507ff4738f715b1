import * as tf from '@tensorflow/tfjs-core';
import type { Scope } from '../nn/params.js';
import { meanAmplitude, normalizeAmplitude, spectrum, type Spectrum } from './amplitude.js';

/** AmpNorm options: `L` sets the replaced low-frequency square, `momentum` the running-amplitude EMA. */
export interface AmpNormOptions {
  /** Half-width of the replaced square is floor(min(H, W) * L); 0 replaces the DC term alone (released code). */
  L: number;
  /** EMA momentum of the running amplitude; 0 keeps the first batch's amplitude (the released code's effective value). */
  momentum: number;
  /** False makes the layer an identity (strategies without AmpNorm); default true. */
  enabled?: boolean;
}

/** The released code's behaviour: DC only, running amplitude fixed by the first batch. */
export const AMP_NORM_REFERENCE: AmpNormOptions = { L: 0, momentum: 0 };
/** The paper's: true EMA with momentum 0.1 (pair it with the L a run wants). */
export const AMP_NORM_PAPER_MOMENTUM = 0.1;

/** NHWC tensor to NCHW planes. */
function toPlanes(x: tf.Tensor4D): { data: Float32Array; count: number; h: number; w: number } {
  const [n, h, w, c] = x.shape;
  const planar = tf.transpose(x, [0, 3, 1, 2]);
  const data = planar.dataSync() as Float32Array;
  planar.dispose();
  return { data, count: n * c, h, w };
}

/**
 * Amplitude normalization, the first layer of both HarmoFL models. Holds the running amplitude
 * (state entry `amp_norm.running_amp`, [C, H, W], unshifted FFT layout) in the model state, so
 * the server averages it with the weights; `frozen` stops updates (after the first aggregation).
 */
export class AmpNorm {
  readonly runningAmp: tf.Variable;
  frozen = false;
  // The last batch's spectrum and output pixels, whose arrays the next batch of the same size reuses.
  private buffers?: { spectrum: Spectrum; pixels: Float32Array };

  constructor(
    scope: Scope,
    readonly shape: [number, number, number],
    readonly options: AmpNormOptions = AMP_NORM_REFERENCE,
  ) {
    this.runningAmp = scope.store.add(scope.name('running_amp'), shape, new Float32Array(shape[0] * shape[1] * shape[2]), false);
  }

  /**
   * Folds a training batch's mean amplitude into the running amplitude: the first batch sets it,
   * later ones update it as an EMA with `momentum` (0: never moves, as the released code).
   */
  observe(x: tf.Tensor4D): void {
    this.fold(x);
  }

  /** Normalizes an NHWC batch toward the running amplitude (no gradient flows through it). */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return this.normalized(x, undefined);
  }

  /** `observe` then `apply`, with one forward FFT of the batch where both need it (L > 0 with a moving amplitude). */
  observeAndApply(x: tf.Tensor4D): tf.Tensor4D {
    return this.normalized(x, this.fold(x));
  }

  /** x normalized; `s` is its spectrum when `fold` computed one. */
  private normalized(x: tf.Tensor4D, s: Spectrum | undefined): tf.Tensor4D {
    // A new tensor even when disabled: callers dispose what this returns.
    if (this.options.enabled === false) return tf.clone(x);
    return this.options.L === 0 ? this.shiftDc(x) : this.applyFft(x, s);
  }

  /** The general FFT path, for any L; `s` is the batch's spectrum when already computed (consumed: later batches reuse its arrays). */
  applyFft(x: tf.Tensor4D, s: Spectrum = this.spectrum(x)): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    const out = normalizeAmplitude(s, c, this.runningAmp.dataSync(), this.options.L);
    const pixels = this.buffers?.pixels.length === out.length ? this.buffers.pixels : new Float32Array(out.length);
    pixels.set(out);
    this.buffers = { spectrum: s, pixels };
    // Nothing keeps pixels past the tidy: the transpose's output is a new buffer.
    return tf.tidy(() => tf.transpose(tf.tensor4d(pixels, [n, c, h, w]), [0, 2, 3, 1]));
  }

  /** x's spectrum, in the last batch's arrays when they fit. */
  private spectrum(x: tf.Tensor4D): Spectrum {
    return spectrum(toPlanes(x), this.buffers?.spectrum);
  }

  /** Folds x into the running amplitude (see `observe`); returns x's spectrum when it computed one. */
  private fold(x: tf.Tensor4D): Spectrum | undefined {
    if (this.frozen || this.options.enabled === false) return undefined;
    const running = this.runningAmp.dataSync();
    const empty = running.every((v) => v === 0);
    const m = this.options.momentum;
    // Decide before the FFT: with momentum 0 only the first batch is ever used.
    if (!empty && m === 0) return undefined;
    const s = this.spectrum(x);
    const batchAmp = meanAmplitude(s, x.shape[3]);
    const next = empty ? Float32Array.from(batchAmp) : Float32Array.from(running, (r, i) => (1 - m) * r + m * batchAmp[i]!);
    tf.tidy(() => this.runningAmp.assign(tf.tensor(next, this.shape)));
    return s;
  }

  /**
   * L = 0 fast path: replacing the DC amplitude while keeping its phase (the sign of the channel
   * sum) moves each channel's mean to sign(sum) * A_dc / (H * W).
   */
  private shiftDc(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [, h, w, c] = x.shape;
      const dc = tf.reshape(tf.slice(this.runningAmp, [0, 0, 0], [c, 1, 1]), [1, 1, 1, c]);
      const mean = tf.mean(x, [1, 2], true);
      // atan2(0, 0) = 0: a zero sum keeps phase 0, so its sign counts as +1.
      const sign = tf.sub(tf.mul(tf.cast(tf.greaterEqual(mean, 0), 'float32'), 2), 1);
      return tf.add(tf.sub(x, mean), tf.mul(sign, tf.div(dc, h * w)));
    });
  }
}
