// JSON as the repository's formatter writes it (2 spaces; an array of numbers or strings on one
// line when it fits in 100 columns), so that committed results pass `biome check`.

const WIDTH = 100;

export function formatJson(value: unknown): string {
  return `${format(value, 0, 0)}\n`;
}

function format(value: unknown, indent: number, prefix: number): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  const pad = " ".repeat(indent + 2);
  const end = " ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object")) {
      const flat = `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
      if (prefix + flat.length + 1 <= WIDTH) return flat;
    }
    const items = value.map((v) => `${pad}${format(v, indent + 2, pad.length)}`);
    return `[\n${items.join(",\n")}\n${end}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  const items = entries.map(([k, v]) => {
    const key = `${pad}${JSON.stringify(k)}: `;
    return `${key}${format(v, indent + 2, key.length)}`;
  });
  return `{\n${items.join(",\n")}\n${end}}`;
}
