import { writePredictionsCsv, type Predicted, type PredictionWriter } from './output.js';

/** Softmax of logits, in float64 and shifted by the maximum so large logits do not overflow. */
export function softmax(logits: Float32Array): number[] {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Classification outputs: one predictions.csv row per image with the predicted class and every class's probability. */
export class ClassificationWriter implements PredictionWriter {
  private readonly rows: string[][] = [];

  constructor(
    private readonly out: string,
    private readonly classes: number,
  ) {}

  async write(p: Predicted): Promise<void> {
    for (const logits of p.logits) {
      const probs = softmax(logits);
      const predicted = probs.indexOf(Math.max(...probs));
      this.rows.push([p.item.name, String(predicted), ...probs.map((v) => v.toFixed(6))]);
    }
  }

  finish(): Promise<string> {
    return writePredictionsCsv(this.out, ['file', 'predicted', ...Array.from({ length: this.classes }, (_, k) => `p${k}`)], this.rows);
  }
}
