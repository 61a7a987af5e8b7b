// Renders Vega-Lite specifications to SVG (vega's headless view) and SVG to PNG (resvg).
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** SVG text of a Vega-Lite chart, rendered without a browser or a canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * A PNG of `svg` on a white background, `scale` times its size. Text uses the system's fonts (DejaVu Sans
 * and Liberation Sans on Debian), with a sans-serif fallback.
 */
export function renderPng(svg: string, options: { scale?: number } = {}): Uint8Array {
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: options.scale ?? 2 },
    font: {
      loadSystemFonts: true,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}
