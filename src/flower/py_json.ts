/**
 * JSON text as Python's `json.dumps` writes it with its defaults (`", "` and `": "` separators,
 * non-ASCII escaped): Flower object bodies are hashed, so harmofl must write the same bytes a
 * Python peer would for the same object.
 */

/** A value `pyJson` writes: the shapes Flower's object bodies use. */
export type PyJsonValue = string | number | readonly PyJsonValue[] | { readonly [key: string]: PyJsonValue };

/** Python's `json.dumps(s)` of a string (ensure_ascii). */
function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `json.dumps(value)` of a dict of strings, integers and lists (keys in insertion order). */
export function pyJson(value: PyJsonValue): string {
  if (typeof value === 'string') return pyString(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`pyJson writes integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${(value as readonly PyJsonValue[]).map(pyJson).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${pyString(k)}: ${pyJson(v)}`)
    .join(', ')}}`;
}
