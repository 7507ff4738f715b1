import * as tf from '@tensorflow/tfjs-core';
import { toNamedArrays } from '../engine/named_arrays.js';
import { readSafetensors, writeSafetensors, type SafetensorsContent } from '../engine/safetensors.js';
import type { Rng } from '../engine/rng.js';
import { normalizationControl } from '../nn/batch_norm.js';
import type { ModelConfig } from '../nn/model.js';
import { AMP_NORM_REFERENCE, type AmpNormOptions } from './amp_norm.js';
import { createModel, type AmpNormModel } from './create_model.js';
import { loadModel } from './model_file.js';

/**
 * Models as safetensors that PyTorch reads: the reference's state_dict names and layouts (the
 * ParamStore's names are the reference's, and `torchStateDict` gives its layouts: conv
 * [out, in, kh, kw], linear [out, in], transposed conv [in, out, kh, kw]), float32, so
 * `model.load_state_dict(safetensors.torch.load_file(f))` loads them into the reference network.
 * harmofl's own settings ride in `__metadata__` as JSON strings. Calibrated BatchNorm statistics,
 * when present, are stored as `<layer>.running_mean` / `running_var`: PyTorch loads those into a
 * BatchNorm with `track_running_stats=True`, and the reference network (without them) with
 * `strict=False`.
 */

const CONFIG_KEY = 'harmofl.config';
const AMP_KEY = 'harmofl.amp_norm';
const AMP_ENTRY = 'amp_norm.running_amp';
/** PyTorch's integer BatchNorm step counter: no meaning for harmofl, so read past. */
const isStepCounter = (name: string): boolean => name.endsWith('.num_batches_tracked');

/** A model as safetensors content: PyTorch names and layouts, harmofl settings in the metadata. */
function toSafetensors(model: AmpNormModel): SafetensorsContent {
  const dict = model.params.torchStateDict();
  const arrays = { ...toNamedArrays(dict), ...normalizationControl(model.params).toArrays() };
  tf.dispose([...dict.values()]);
  const metadata = {
    format: 'pt',
    [CONFIG_KEY]: JSON.stringify(model.config),
    [AMP_KEY]: JSON.stringify({ ...model.inputNorm.options, frozen: model.inputNorm.frozen }),
  };
  return { arrays, metadata };
}

/** Saves a model as safetensors to `file`, atomically (one call, beside a `.hflm`). */
export async function saveModelSafetensors(file: string, model: AmpNormModel): Promise<void> {
  const { arrays, metadata } = toSafetensors(model);
  await writeSafetensors(file, arrays, metadata);
}

/** How to build the model a safetensors file fits when it has no harmofl metadata (a PyTorch export). */
export interface SafetensorsModelOptions {
  /** The architecture; overrides the file's metadata when given. */
  config?: ModelConfig;
  /** AmpNorm options when the file has none (default the released code's). */
  amp?: AmpNormOptions;
  /** Receives non-fatal notes (a missing running amplitude). */
  warn?: (message: string) => void;
}

/** Builds a model from decoded safetensors content; mismatching entries are listed in one error naming `source`. */
function modelFromSafetensors(content: SafetensorsContent, rng: Rng, source: string, options: SafetensorsModelOptions = {}): AmpNormModel {
  const { metadata } = content;
  const arrays = { ...content.arrays };
  const parse = <T>(key: string): T | undefined => {
    const text = metadata[key];
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`${source}: metadata ${key} is not valid JSON`);
    }
  };
  const config = options.config ?? parse<ModelConfig>(CONFIG_KEY);
  if (config === undefined)
    throw new Error(
      `${source} has no harmofl metadata: give the architecture (harmofl import --model unet|densenet|unet32|densenet121 ...)`,
    );
  const { frozen, ...amp } = parse<AmpNormOptions & { frozen: boolean }>(AMP_KEY) ?? {
    ...(options.amp ?? AMP_NORM_REFERENCE),
    frozen: true,
  };
  const model = createModel(config, rng, amp);
  try {
    const expected = torchShapes(model);
    const control = normalizationControl(model.params);
    const statistics = new Set(control.layers.flatMap((l) => [`${l}.running_mean`, `${l}.running_var`]));
    let ampMissing = false;
    if (arrays[AMP_ENTRY] === undefined && expected.has(AMP_ENTRY)) {
      // A reference state_dict may lack it; zeros make the first training batch set it.
      const shape = expected.get(AMP_ENTRY)!;
      arrays[AMP_ENTRY] = { shape, data: new Float32Array(shape.reduce((p, d) => p * d, 1)) };
      ampMissing = true;
    }
    const missing = [...expected].filter(([name]) => arrays[name] === undefined).map(([name, shape]) => `${name} [${shape}]`);
    const extra = Object.entries(arrays)
      .filter(([name]) => !expected.has(name) && !statistics.has(name))
      .map(([name, a]) => `${name} [${a.shape}]`);
    const misShaped = [...expected]
      .filter(([name, shape]) => arrays[name] !== undefined && !tf.util.arraysEqual(arrays[name]!.shape, shape))
      .map(([name, shape]) => `${name}: expected [${shape}], found [${arrays[name]!.shape}]`);
    if (missing.length + extra.length + misShaped.length > 0) {
      const list = (label: string, items: string[]): string[] =>
        items.length === 0 ? [] : [`  ${label} (${items.length}):`, ...items.map((i) => `    ${i}`)];
      throw new Error(
        [
          `${source} does not fit the ${describe(config)} model:`,
          ...list('missing', missing),
          ...list('extra', extra),
          ...list('mis-shaped', misShaped),
        ].join('\n'),
      );
    }
    model.params.loadTorchStateDict(new Map(Object.entries(arrays).filter(([name]) => expected.has(name))));
    control.loadArrays(arrays);
    model.inputNorm.frozen = frozen && !ampMissing;
    if (ampMissing)
      options.warn?.(
        `${source} has no ${AMP_ENTRY}: AmpNorm starts from zeros (the first training batch sets it; predictions before that are not the reference's)`,
      );
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Each state entry's shape in PyTorch's layout. */
function torchShapes(model: AmpNormModel): Map<string, number[]> {
  const dict = model.params.torchStateDict();
  const shapes = new Map([...dict].map(([name, t]) => [name, t.shape]));
  tf.dispose([...dict.values()]);
  return shapes;
}

/** A model configuration in a few words, for errors. */
function describe(config: ModelConfig): string {
  const [c, h, w] = config.inputShape;
  return config.kind === 'unet'
    ? `unet (features ${config.initFeatures}, ${c}x${h}x${w} input, ${config.outChannels} classes)`
    : `densenet (growth ${config.growthRate}, blocks ${config.blockConfig.join(',')}, features ${config.numInitFeatures}, ${c}x${h}x${w} input, ${config.numClasses} classes)`;
}

/** Loads a safetensors model file (harmofl metadata, or `options.config` for a PyTorch export). */
export async function loadModelSafetensors(file: string, rng: Rng, options: SafetensorsModelOptions = {}): Promise<AmpNormModel> {
  return modelFromSafetensors(await readSafetensors(file, { skip: isStepCounter }), rng, file, options);
}

/** Loads a `.safetensors` or `.hflm` model file, told by its name. */
export async function loadAnyModel(file: string, rng: Rng, options: SafetensorsModelOptions = {}): Promise<AmpNormModel> {
  return file.endsWith('.safetensors') ? loadModelSafetensors(file, rng, options) : loadModel(file, rng);
}
