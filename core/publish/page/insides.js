// The look inside the model, drawn as the Predict tab draws it (trainpad/web/inside_html.py):
// a saliency map over the picture the model saw, each convolution's feature maps as a grid,
// each linear layer's units as bars.  Pictures are canvases drawn pixel for pixel and
// enlarged by the browser (image-rendering: pixelated).

// A grey (length w*h) or RGB (length w*h*3) uint8 picture on a new canvas, shown `shown` px wide.
export function pictureCanvas(pixels, width, height, shown, label) {
  const canvas = document.createElement('canvas');
  paint(canvas, pixels, width, height);
  canvas.style.width = `${shown}px`;
  canvas.style.height = `${Math.round(shown * height / width)}px`;
  if (label) canvas.setAttribute('aria-label', label);
  canvas.setAttribute('role', 'img');
  return canvas;
}

export function paint(canvas, pixels, width, height) {
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, {width, height});
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  const rgb = pixels.length === width * height * 3;
  for (let i = 0; i < width * height; i++) {
    const [r, g, b] = rgb ? [pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]] : [pixels[i], pixels[i], pixels[i]];
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

// A display width that is a whole multiple of the picture's, near `target` px.
export function shownWidth(width, target) {
  return width * Math.max(1, Math.round(target / width));
}

// The picture the model saw, in grey, with the saliency (0..1) laid over it, red to yellow.
export function saliencyOverlay(seen, saliency) {
  const out = new Uint8Array(seen.length * 3);
  for (let i = 0; i < seen.length; i++) {
    const base = Math.fround(seen[i] * 0.55);
    const heat = Math.min(Math.max(saliency[i], 0), 1);
    const alpha = Math.pow(heat, 0.7);
    const colour = [255, 255 * heat, 40 * heat];
    for (let c = 0; c < 3; c++) out[3 * i + c] = Math.min(255, Math.max(0, base * (1 - alpha) + colour[c] * alpha));
  }
  return out;
}

// A convolution's feature maps (count x height x width floats) tiled into one RGB picture:
// positive activations orange to yellow, negative ones blue, zero black, scaled by the layer's
// largest absolute value.
export function mapGrid(maps, count, height, width, gap = 1) {
  const square = Math.ceil(Math.sqrt(count));
  let columns = square;
  for (let c = square; c <= 2 * square; c++) if (count % c === 0) { columns = c; break; }
  const rows = Math.ceil(count / columns);
  let scale = 0;
  for (let i = 0; i < count * height * width; i++) scale = Math.max(scale, Math.abs(maps[i]));
  scale = scale || 1;
  const gridW = columns * (width + gap) - gap, gridH = rows * (height + gap) - gap;
  const grid = new Uint8Array(gridW * gridH * 3).fill(60);
  for (let m = 0; m < count; m++) {
    const top = Math.floor(m / columns) * (height + gap), left = (m % columns) * (width + gap);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = Math.min(1, Math.max(-1, maps[(m * height + y) * width + x] / scale));
        const pos = Math.max(v, 0), neg = Math.max(-v, 0);
        const at = ((top + y) * gridW + left + x) * 3;
        grid[at] = 255 * pos + 40 * neg;
        grid[at + 1] = 200 * Math.pow(pos, 1.5) + 110 * neg;
        grid[at + 2] = 30 * pos + 255 * neg;
      }
    }
  }
  return {pixels: grid, width: gridW, height: gridH};
}

export function figure(kind, content, caption) {
  const figure = document.createElement('figure');
  figure.dataset.tp = kind;
  for (const item of [].concat(content)) figure.append(item);
  const text = document.createElement('figcaption');
  text.innerHTML = caption;
  figure.append(text);
  return figure;
}

// A linear layer's first units as bars above (orange) and below (blue) zero.
export function unitBars(values) {
  const box = document.createElement('div');
  box.className = 'tp-units';
  box.style.setProperty('--n', values.length);
  let top = 0;
  for (const v of values) top = Math.max(top, Math.abs(v));
  top = top || 1;
  values.forEach((v, i) => {
    const bar = document.createElement('span');
    bar.className = v >= 0 ? 'up' : 'down';
    bar.style.height = `${Math.max(1, Math.round(42 * Math.abs(v) / top))}px`;
    bar.title = `unit ${i}: ${v.toFixed(3)}`;
    box.append(bar);
  });
  return box;
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]);
}
