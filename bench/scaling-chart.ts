// The scaling curve of the cold starts as a small, dependency-free SVG: seconds to converge and
// CPU seconds against the number of Services, each with a dashed line extending its first
// segment (the two smallest sizes) linearly, so a super-linear cost shows as points above it.
// A fixed start-up cost does not bend that line, as it would a line through the origin.

export interface ScalingPoint {
  services: number;
  convergedSeconds: number;
  cpuSeconds: number;
}

const W = 720;
const H = 420;
const M = { left: 64, right: 24, top: 48, bottom: 56 };

/** A "nice" step (1, 2 or 5 × 10^k) giving about `count` ticks up to `max`. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / power;
  return (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10) * power;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The SVG document, or one saying there is nothing to draw. */
export function renderScalingChart(points: readonly ScalingPoint[], subtitle: string): string {
  const sorted = [...points].sort((a, b) => a.services - b.services);
  const first = sorted[0];
  const series = [
    {
      name: "seconds to converge",
      color: "#1f77b4",
      value: (p: ScalingPoint) => p.convergedSeconds,
    },
    { name: "CPU seconds", color: "#d62728", value: (p: ScalingPoint) => p.cpuSeconds },
  ];
  const maxX = Math.max(1, ...sorted.map((p) => p.services));
  const second = sorted[1];
  const linearAt = (s: (typeof series)[number], x: number) => {
    if (!first) return 0;
    const slope = second
      ? (s.value(second) - s.value(first)) / (second.services - first.services)
      : s.value(first) / first.services;
    return Math.max(0, s.value(first) + slope * (x - first.services));
  };
  const maxY = Math.max(
    1e-9,
    ...sorted.flatMap((p) => series.map((s) => Math.max(s.value(p), linearAt(s, maxX)))),
  );
  const stepX = niceStep(maxX);
  const stepY = niceStep(maxY);
  const topX = Math.ceil(maxX / stepX) * stepX;
  const topY = Math.ceil(maxY / stepY) * stepY;
  const round = (n: number) => Math.round(n * 10) / 10;
  const px = (x: number) => round(M.left + (x / topX) * (W - M.left - M.right));
  const py = (y: number) => round(H - M.bottom - (y / topY) * (H - M.top - M.bottom));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    "<title>kubeburst cold start: seconds to converge and CPU seconds against production Services</title>",
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="15">kubeburst cold start: cost against production Services</text>`,
    `<text x="${W / 2}" y="37" text-anchor="middle" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  for (let x = 0; x <= topX + 1e-9; x += stepX) {
    out.push(
      `<line x1="${px(x)}" y1="${py(0)}" x2="${px(x)}" y2="${py(topY)}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${py(0) + 16}" text-anchor="middle">${x.toLocaleString("en")}</text>`,
    );
  }
  for (let y = 0; y <= topY + 1e-9; y += stepY) {
    out.push(
      `<line x1="${px(0)}" y1="${py(y)}" x2="${px(topX)}" y2="${py(y)}" stroke="#eee"/>`,
      `<text x="${px(0) - 6}" y="${py(y) + 4}" text-anchor="end">${Number(y.toPrecision(6))}</text>`,
    );
  }
  out.push(
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(topX)}" y2="${py(0)}" stroke="#333"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(topY)}" stroke="#333"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">production Services (10 peak endpoints each)</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">seconds</text>`,
  );
  if (sorted.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no cold start measured</text>`);
  }
  series.forEach((s, i) => {
    // The first series (time, usually the higher) is labelled above and to the left of its
    // points, the second below and to the right, so that labels of close points do not collide.
    const upperLeft = i === 0;
    if (first) {
      out.push(
        `<line x1="${px(first.services)}" y1="${py(s.value(first))}" x2="${px(topX)}" y2="${py(linearAt(s, topX))}" stroke="${s.color}" stroke-dasharray="5 4" stroke-opacity="0.6"/>`,
      );
    }
    const path = sorted.map((p) => `${px(p.services)},${py(s.value(p))}`).join(" ");
    if (sorted.length > 1) {
      out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    }
    for (const p of sorted) {
      const x = px(p.services);
      const toLeft = upperLeft || x > W - M.right - 40;
      out.push(
        `<circle cx="${x}" cy="${py(s.value(p))}" r="4" fill="${s.color}"/>`,
        `<text x="${toLeft ? x - 8 : x + 8}" y="${py(s.value(p)) + (upperLeft ? -8 : 16)}" fill="${s.color}"${toLeft ? ' text-anchor="end"' : ""}>${s.value(p).toFixed(1)}</text>`,
      );
    }
    const ly = M.top + 8 + i * 18;
    out.push(
      `<line x1="${M.left + 12}" y1="${ly}" x2="${M.left + 36}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`,
      `<text x="${M.left + 42}" y="${ly + 4}">${s.name}</text>`,
    );
  });
  const ly = M.top + 8 + series.length * 18;
  out.push(
    `<line x1="${M.left + 12}" y1="${ly}" x2="${M.left + 36}" y2="${ly}" stroke="#777" stroke-dasharray="5 4"/>`,
    `<text x="${M.left + 42}" y="${ly + 4}">linear growth at the rate between the two smallest sizes</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}
