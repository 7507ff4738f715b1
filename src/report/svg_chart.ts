import { esc } from './html.js';

/** One line of a chart. */
export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** A shaded band around the line: [x, low, high] (e.g. the range across seeds). */
  band?: Array<[number, number, number]>;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** A self-contained SVG line chart with axes, ticks and a legend (no dependencies, embeddable in HTML); small multiples leave the legend to a larger chart. */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  width = 560,
  height = 300,
  legend = true,
): string {
  const pad = { left: 56, right: legend ? 130 : 16, top: 30, bottom: 42 };
  const all = series.flatMap((s) => [
    ...s.points,
    ...(s.band ?? []).flatMap(([x, lo, hi]): Array<[number, number]> => [
      [x, lo],
      [x, hi],
    ]),
  ]);
  const [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number): number => pad.left + ((x - x0) / Math.max(x1 - x0, 1)) * (width - pad.left - pad.right);
  const sy = (y: number): number => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const ticks = Array.from({ length: 5 }, (_, i) => y0 + ((y1 - y0) * i) / 4);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<text x="${width / 2 - pad.right / 2}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#333"/>`,
    ...ticks.map(
      (t) =>
        `<line x1="${pad.left - 4}" y1="${sy(t)}" x2="${width - pad.right}" y2="${sy(t)}" stroke="#ddd"/><text x="${pad.left - 6}" y="${sy(t) + 4}" text-anchor="end">${t.toFixed(1)}</text>`,
    ),
    `<text x="${pad.left + (width - pad.left - pad.right) / 2}" y="${height - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(14 ${pad.top + (height - pad.top - pad.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
    `<text x="${sx(x0)}" y="${height - pad.bottom + 14}" text-anchor="middle">${x0}</text><text x="${sx(x1)}" y="${height - pad.bottom + 14}" text-anchor="middle">${x1}</text>`,
  ];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    if (s.band !== undefined && s.band.length > 0) {
      const edge = [...s.band.map(([x, , hi]) => [x, hi] as const), ...[...s.band].reverse().map(([x, lo]) => [x, lo] as const)];
      parts.push(
        `<polygon fill="${color}" fill-opacity="0.15" stroke="none" points="${edge.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
      );
    }
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
    );
    if (legend)
      parts.push(
        `<rect x="${width - pad.right + 12}" y="${pad.top + i * 18}" width="12" height="3" fill="${color}"/><text x="${width - pad.right + 30}" y="${pad.top + i * 18 + 5}">${esc(s.name)}</text>`,
      );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
