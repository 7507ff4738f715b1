import { getKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';

/**
 * A config replacing `backendName`'s stock `kernelName` with `ours`, which receives the stock
 * kernel to fall back on for the cases it does not handle. The stock setup is kept: it binds the
 * wasm functions the fallback (and, for some kernels, other stock kernels) call.
 */
export function withStockFallback(kernelName: string, backendName: string, ours: (stock: KernelFunc) => KernelFunc): KernelConfig {
  const stockConfig = getKernel(kernelName, backendName);
  if (stockConfig === undefined) throw new Error(`backend ${backendName} has no ${kernelName} kernel to wrap`);
  const setup = stockConfig.setupFunc !== undefined ? { setupFunc: stockConfig.setupFunc } : {};
  return { kernelName, backendName, kernelFunc: ours(stockConfig.kernelFunc), ...setup };
}
