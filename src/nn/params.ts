import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.js';

/**
 * How a tensor is laid out in PyTorch relative to ours (NHWC engine layouts):
 * conv OIHW vs HWIO, linear [out,in] vs [in,out], transposed conv [in,out,kh,kw] vs [kh,kw,out,in].
 */
export type TorchLayout = 'same' | 'conv' | 'linear' | 'convTranspose';

const TO_TORCH_PERM: Record<TorchLayout, number[] | undefined> = {
  same: undefined,
  conv: [3, 2, 0, 1],
  linear: [1, 0],
  convTranspose: [3, 2, 0, 1],
};
const FROM_TORCH_PERM: Record<TorchLayout, number[] | undefined> = {
  same: undefined,
  conv: [2, 3, 1, 0],
  linear: [1, 0],
  convTranspose: [2, 3, 1, 0],
};

/** One named tensor of a model: trained weights, or state such as the AmpNorm amplitude. */
export interface Entry {
  readonly variable: tf.Variable;
  readonly trainable: boolean;
  readonly layout: TorchLayout;
  /** Belongs to a normalization layer (FedBN keeps these local). */
  readonly normalization: boolean;
}

/** Flat map of a model's named tensors, with PyTorch state_dict names. */
export class ParamStore {
  readonly entries = new Map<string, Entry>();
  /** Makes tfjs variable names unique across models in one engine. */
  private static counter = 0;

  constructor(readonly rng: Rng) {}

  /** Registers a tensor under `name` (values in our layout). */
  add(
    name: string,
    shape: number[],
    values: Float32Array,
    trainable: boolean,
    layout: TorchLayout = 'same',
    normalization = false,
  ): tf.Variable {
    if (this.entries.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape), trainable, `${name}#${ParamStore.counter++}`));
    this.entries.set(name, { variable, trainable, layout, normalization });
    return variable;
  }

  /** Trainable variables by name, in registration order. */
  trainable(): Map<string, tf.Variable> {
    return new Map([...this.entries].filter(([, e]) => e.trainable).map(([k, e]) => [k, e.variable]));
  }

  /** Names of the normalization layers' entries. */
  normalizationNames(): Set<string> {
    return new Set([...this.entries].filter(([, e]) => e.normalization).map(([k]) => k));
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.trainable) n += e.variable.size;
    return n;
  }

  /** Every entry (weights and state) as named tensors in our layout; the caller owns the clones. */
  state(): Map<string, tf.Tensor> {
    return new Map([...this.entries].map(([k, e]) => [k, tf.clone(e.variable)]));
  }

  /** Assigns entries from `state` (our layout); every model entry must be present with its shape. */
  loadState(state: ReadonlyMap<string, tf.Tensor>): void {
    for (const [name, e] of this.entries) {
      const t = state.get(name);
      if (t === undefined) throw new Error(`state has no entry ${name}`);
      if (!tf.util.arraysEqual(t.shape, e.variable.shape))
        throw new Error(`state entry ${name} has shape [${t.shape}], the model expects [${e.variable.shape}]`);
      e.variable.assign(t);
    }
  }

  /** PyTorch-layout state_dict (names and layouts as torch saves them); the caller owns the tensors. */
  torchStateDict(): Map<string, tf.Tensor> {
    return new Map(
      [...this.entries].map(([k, e]) => {
        const perm = TO_TORCH_PERM[e.layout];
        return [k, perm === undefined ? tf.clone(e.variable) : tf.transpose(e.variable, perm)];
      }),
    );
  }

  /** Loads a PyTorch-layout state_dict; unknown or missing names and wrong shapes are errors. */
  loadTorchStateDict(dict: ReadonlyMap<string, { shape: number[]; data: ArrayLike<number> }>): void {
    for (const name of dict.keys()) if (!this.entries.has(name)) throw new Error(`state_dict entry ${name} does not exist in this model`);
    const converted = new Map<string, tf.Tensor>();
    try {
      for (const [name, e] of this.entries) {
        const src = dict.get(name);
        if (src === undefined) throw new Error(`state_dict has no entry ${name}`);
        const t = tf.tensor(Float32Array.from(src.data), src.shape);
        const perm = FROM_TORCH_PERM[e.layout];
        converted.set(name, perm === undefined ? t : tf.tidy(() => tf.transpose(t, perm)));
        if (perm !== undefined) t.dispose();
      }
      this.loadState(converted);
    } finally {
      tf.dispose([...converted.values()]);
    }
  }

  /** Frees every variable. */
  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}

/** A name prefix inside a ParamStore, so layers register PyTorch-style dotted names. */
export class Scope {
  constructor(
    readonly store: ParamStore,
    readonly prefix: string,
  ) {}

  /** Child scope `prefix.name`. */
  child(name: string): Scope {
    return new Scope(this.store, this.name(name));
  }

  /** Full dotted name of `leaf` in this scope. */
  name(leaf: string): string {
    return this.prefix === '' ? leaf : `${this.prefix}.${leaf}`;
  }
}

/** Kaiming-normal values (PyTorch `kaiming_normal_`, fan_in mode, ReLU gain). */
export function kaimingNormal(rng: Rng, size: number, fanIn: number): Float32Array {
  const std = Math.sqrt(2 / fanIn);
  return Float32Array.from({ length: size }, () => rng.normal() * std);
}

/** PyTorch's default bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export function uniformFanIn(rng: Rng, size: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  return Float32Array.from({ length: size }, () => (rng.uniform() * 2 - 1) * bound);
}
