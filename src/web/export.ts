// Chart downloads: the chart's own SVG, or that SVG drawn onto a canvas at twice the size for PNG.
// Everything stays in the page (blob: and data: URLs); nothing is sent anywhere.

export function safeFileName(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 120);
  return cleaned.length > 0 ? cleaned : "chart";
}

function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.rel = "noopener";
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke later: the download reads the URL asynchronously.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Adds a white background so the exported image reads on any viewer, dark ones included. */
function withBackground(svg: string): string {
  return svg.replace(/<svg\b([^>]*)>/, (m) => `${m}<rect width="100%" height="100%" fill="#ffffff"/>`);
}

export function downloadSvg(svg: string, baseName: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${withBackground(svg)}`;
  download(new Blob([text], { type: "image/svg+xml" }), `${safeFileName(baseName)}.svg`);
}

export function svgToPngBlob(svg: string, width: number, height: number, scale = 2): Promise<Blob> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      try {
        draw();
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const draw = () => {
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      const ctx = canvas.getContext("2d");
      if (!ctx) {
        reject(new Error("no 2D canvas"));
        return;
      }
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("PNG encoding failed"))), "image/png");
    };
    img.onerror = () => reject(new Error("the chart SVG could not be drawn"));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  });
}

export async function downloadPng(
  svg: string,
  width: number,
  height: number,
  baseName: string,
): Promise<void> {
  const blob = await svgToPngBlob(svg, width, height);
  download(blob, `${safeFileName(baseName)}.png`);
}
