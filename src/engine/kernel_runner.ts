import {
  backend_util,
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/**
 * Runs other kernels of one backend from inside a kernel, the way tfjs's own composite kernels do:
 * no tape, no engine bookkeeping. Every intermediate is freed by `dispose()` except the one kept.
 */
export class KernelRunner {
  private readonly made: TensorInfo[] = [];

  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  /** Runs kernel `name` and tracks its outputs as intermediates. */
  runAll(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo[] {
    const kernel = getKernel(name, this.backendName);
    if (kernel === undefined) throw new Error(`kernel ${name} is not registered for backend ${this.backendName}`);
    const out = kernel.kernelFunc({ inputs, backend: this.backend, attrs });
    const infos = Array.isArray(out) ? out : [out];
    if (infos.length === 0) throw new Error(`kernel ${name} returned no output`);
    this.made.push(...infos);
    return infos;
  }

  /** Runs single-output kernel `name` and tracks its output as an intermediate. */
  run(name: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    return this.runAll(name, inputs, attrs)[0]!;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Tracks a tensor made outside `run` as an intermediate. */
  track(info: TensorInfo): TensorInfo {
    this.made.push(info);
    return info;
  }

  /** Stride-1 NHWC convolution on the backend's native Conv2D, unpadded unless `pad` says otherwise. */
  conv(x: TensorInfo, filter: TensorInfo, pad: 'valid' | backend_util.ExplicitPadding = 'valid'): TensorInfo {
    return this.run('Conv2D', { x, filter }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] });
  }

  /** Frees every intermediate except those kept. */
  dispose(...keep: TensorInfo[]): void {
    for (const info of this.made) {
      if (!keep.includes(info)) this.backend.disposeData(info.dataId);
    }
    this.made.length = 0;
  }
}

/** A composite kernel's named inputs, each required: the getter throws naming the kernel and the missing input. */
export function requiredInputs(inputs: NamedTensorInfoMap, kernelName: string): (name: string) => TensorInfo {
  return (name) => {
    const info = inputs[name];
    if (info === undefined) throw new Error(`${kernelName}: missing input ${name}`);
    return info;
  };
}

/** Attributes shared by the two convolution-gradient kernels. */
export interface ConvGradAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Geometry of the forward NHWC convolution a gradient kernel inverts (channels-first is refused). */
export function nhwcConvInfo(kernelName: string, inShape: number[], filterShape: number[], attrs: ConvGradAttrs): backend_util.Conv2DInfo {
  if (attrs.dataFormat !== 'NHWC') throw new Error(`${kernelName}: only NHWC is supported, got ${attrs.dataFormat}`);
  type Shape4 = [number, number, number, number];
  return backend_util.computeConv2DInfo(
    inShape as Shape4,
    filterShape as Shape4,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}
