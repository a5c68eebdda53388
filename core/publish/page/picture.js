// From a picture a person made to the numbers a model expects: trainpad's own preprocessing
// (trainpad/engine/pictures.py), done the same way in the browser, to the same 28x28 pixels.
//
// For drawn glyphs (a dataset with ink "centre", such as MNIST) it does what MNIST's makers
// did: crop to the ink, scale the longer side to 20 pixels keeping the aspect ratio (PIL's
// Lanczos filter after a box reduction, as Image.resize(..., reducing_gap=3.0) does), and place
// the result in a 28x28 field with its centre of mass at the centre.  Other pictures are
// scaled to fit (PIL's bilinear filter) and centred.  Every step repeats the server's
// arithmetic: PIL's fixed-point filters, numpy's float32 rounding, Python's round() (half to
// even); tests check that both sides give the same pixels for the same drawing.

export const INK_THRESHOLD = 0.2;
export const MIN_INK_FRACTION = 0.0002;

export class BlankImage extends Error {
  constructor() {
    super('nothing drawn');
    this.name = 'BlankImage';
  }
}

// Python's round(): to the nearest whole number, halves to the even one.
export function pyRound(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

// RGBA pixels (ImageData-like: {data, width, height}) as grey, ink light on dark: PIL's
// convert('L') after flattening any transparency onto white, inverted when the border is light.
export function toInk(image) {
  const {data, width, height} = image;
  const gray = new Uint8Array(width * height);
  for (let i = 0, p = 0; i < gray.length; i++, p += 4) {
    let r = data[p], g = data[p + 1], b = data[p + 2];
    const a = data[p + 3];
    if (a !== 255) { // PIL's alpha_composite onto white, then rounded as PIL does
      r = compositeOnWhite(r, a); g = compositeOnWhite(g, a); b = compositeOnWhite(b, a);
    }
    gray[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16; // PIL's L24
  }
  if (borderMedian(gray, width, height) > 127) {
    for (let i = 0; i < gray.length; i++) gray[i] = 255 - gray[i];
  }
  return {gray, width, height};
}

function compositeOnWhite(value, alpha) {
  // Image.alpha_composite(white, image) (libImaging/AlphaComposite.c) onto opaque white
  if (alpha === 0) return 255;
  const coef1 = alpha * 128, coef2 = 255 * 128 - coef1;
  const t = value * coef1 + 255 * coef2 + (0x80 << 7);
  return (((t >> 8) + t) >> 8) >> 7;
}

function borderMedian(gray, width, height) {
  const border = [];
  for (let x = 0; x < width; x++) border.push(gray[x]);
  for (let x = 0; x < width; x++) border.push(gray[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) border.push(gray[y * width]);
  for (let y = 0; y < height; y++) border.push(gray[y * width + width - 1]);
  border.sort((a, b) => a - b);
  const n = border.length, half = n >> 1;
  return n % 2 ? border[half] : (border[half - 1] + border[half]) / 2;
}

// (int(np.percentile(gray, 5)), gray.max()) for big pictures, (min, max) for small ones.
function backgroundAndPeak(gray) {
  const counts = new Float64Array(256);
  let lowest = 255, high = 0;
  for (let i = 0; i < gray.length; i++) {
    const v = gray[i];
    counts[v]++;
    if (v < lowest) lowest = v;
    if (v > high) high = v;
  }
  if (gray.length <= 4096) return [lowest, high];
  const below = Math.floor(0.05 * (gray.length - 1));
  if (counts[lowest] > below + 1) return [lowest, high];
  // np.percentile's linear interpolation, from the histogram
  const n = gray.length, position = 0.05 * (n - 1);
  const lowerRank = Math.floor(position), fraction = position - lowerRank;
  const upperRank = Math.min(lowerRank + 1, n - 1);
  let cumulative = 0, lower = -1, upper = -1;
  for (let v = 0; v < 256; v++) {
    cumulative += counts[v];
    if (lower < 0 && cumulative > lowerRank) lower = v;
    if (upper < 0 && cumulative > upperRank) { upper = v; break; }
  }
  return [Math.trunc(lower + (upper - lower) * fraction), high];
}

// MNIST's own preprocessing of a light-on-dark picture (pictures.centre_ink).
export function centreInk({gray, width, height}, size = 28, box = 20) {
  const [low, high] = backgroundAndPeak(gray);
  if (high - low < 32) throw new BlankImage();
  const threshold = Math.floor(low + INK_THRESHOLD * (high - low));
  let inked = 0, top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (gray[y * width + x] > threshold) {
        inked++;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  if (inked < Math.max(1, MIN_INK_FRACTION * gray.length)) throw new BlankImage();
  const w = right - left + 1, h = bottom - top + 1;
  // background to 0 and full ink to 255, in float32 as numpy does
  const gain = Math.fround(255.0 / (high - low));
  const crop = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = Math.fround((gray[(top + y) * width + left + x] - low) * gain);
      crop[y * w + x] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
    }
  }
  const scale = box / Math.max(h, w);
  const newW = Math.max(1, pyRound(w * scale)), newH = Math.max(1, pyRound(h * scale));
  const glyph = resize({pixels: crop, width: w, height: h}, newW, newH, LANCZOS, 3.0);
  let total = 0, sy = 0, sx = 0;
  for (let y = 0; y < newH; y++) {
    for (let x = 0; x < newW; x++) {
      const v = glyph[y * newW + x];
      total += v; sy += y * v; sx += x * v;
    }
  }
  if (total <= 0) throw new BlankImage();
  let fieldTop = Math.trunc(pyRound(size / 2 - sy / total));
  let fieldLeft = Math.trunc(pyRound(size / 2 - sx / total));
  fieldTop = Math.min(Math.max(fieldTop, 0), size - newH);
  fieldLeft = Math.min(Math.max(fieldLeft, 0), size - newW);
  const field = new Uint8Array(size * size);
  for (let y = 0; y < newH; y++) field.set(glyph.subarray(y * newW, (y + 1) * newW), (fieldTop + y) * size + fieldLeft);
  return field;
}

// A picture scaled to fit height x width, proportions kept, centred on black (pictures.fit).
export function fit({gray, width, height}, outH, outW) {
  const scale = Math.min(outH / height, outW / width);
  const newH = Math.max(1, pyRound(height * scale)), newW = Math.max(1, pyRound(width * scale));
  const scaled = resize({pixels: gray, width, height}, newW, newH, BILINEAR, null);
  if (newH === outH && newW === outW) return scaled;
  const field = new Uint8Array(outH * outW);
  const top = Math.floor((outH - newH) / 2), left = Math.floor((outW - newW) / 2);
  for (let y = 0; y < newH; y++) field.set(scaled.subarray(y * newW, (y + 1) * newW), (top + y) * outW + left);
  return field;
}

// What the model sees, and its input: pictures.prepare.  meta: {input_shape, mean, std, ink}.
export function prepare(image, meta) {
  const [channels, height, width] = meta.input_shape;
  const ink = toInk(image);
  let seen;
  if (meta.ink === 'centre' && height === width) {
    seen = centreInk(ink, height, pyRound(height * 20 / 28));
  } else {
    let lo = 255, hi = 0;
    for (const v of ink.gray) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (hi - lo < 32) throw new BlankImage();
    seen = fit(ink, height, width);
  }
  return {seen, width, height, input: normalise(seen, channels, meta.mean, meta.std)};
}

// (seen / 255 - mean) / std per channel, in float32 as torch computes it.
export function normalise(seen, channels, mean, std) {
  const plane = seen.length;
  const input = new Float32Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    const m = Math.fround(mean.length > 1 ? mean[c] : mean[0]), s = Math.fround(std.length > 1 ? std[c] : std[0]);
    for (let i = 0; i < plane; i++) {
      const x = Math.fround(seen[i] / 255);
      input[c * plane + i] = Math.fround(Math.fround(x - m) / s);
    }
  }
  return input;
}

// -- PIL's resampling (libImaging/Resample.c and Reduce.c), for 8-bit grey --------------------

const PRECISION_BITS = 32 - 8 - 2;
const sinc = (x) => { if (x === 0) return 1; x *= Math.PI; return Math.sin(x) / x; };
export const LANCZOS = {support: 3.0, filter: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0)};
export const BILINEAR = {support: 1.0, filter: (x) => { if (x < 0) x = -x; return x < 1 ? 1 - x : 0; }};

// Image.resize(size, filter, reducing_gap): a box reduction first when the picture is
// reducing_gap times (or more) the size, then the filter.
export function resize(picture, outW, outH, filter, reducingGap) {
  let {pixels, width, height} = picture;
  let box = [0, 0, width, height];
  if (reducingGap) {
    const factorX = Math.trunc(width / outW / reducingGap) || 1;
    const factorY = Math.trunc(height / outH / reducingGap) || 1;
    if (factorX > 1 || factorY > 1) {
      // _get_safe_box of the whole picture is the whole picture
      ({pixels, width, height} = reduce(pixels, width, height, factorX, factorY));
      box = [0, 0, picture.width / factorX, picture.height / factorY];
    }
  }
  return resample(pixels, width, height, outW, outH, filter, box);
}

// ImagingReduce: each output pixel the rounded mean of a factorX x factorY block (the last
// row and column of blocks as large as what is left), with PIL's float32 reciprocal.
function reduce(pixels, width, height, fx, fy) {
  const outW = Math.ceil(width / fx), outH = Math.ceil(height / fy);
  const out = new Uint8Array(outW * outH);
  const multipliers = new Map();
  const multiplier = (count) => {
    if (!multipliers.has(count)) multipliers.set(count, Math.trunc(Math.fround(4294967296 / Math.fround(256 * count))));
    return multipliers.get(count);
  };
  for (let y = 0; y < outH; y++) {
    const y0 = y * fy, y1 = Math.min(y0 + fy, height);
    for (let x = 0; x < outW; x++) {
      const x0 = x * fx, x1 = Math.min(x0 + fx, width);
      const count = (x1 - x0) * (y1 - y0);
      let sum = Math.floor(count / 2);
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += pixels[yy * width + xx];
      out[y * outW + x] = Math.floor((sum * multiplier(count)) / 16777216);
    }
  }
  return {pixels: out, width: outW, height: outH};
}

function coefficients(inSize, in0, in1, outSize, filter) {
  in0 = Math.fround(in0); in1 = Math.fround(in1); // the box is passed to C as floats
  const scale = Math.fround(in1 - in0) / outSize;
  const filterScale = Math.max(scale, 1.0);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2), weights = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    const ss = 1.0 / filterScale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let total = 0;
    const k = new Float64Array(xmax);
    for (let x = 0; x < xmax; x++) { k[x] = filter.filter((x + xmin - center + 0.5) * ss); total += k[x]; }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? k[x] / total : k[x];
      // normalize_coeffs_8bpc: to fixed point, rounded away from zero
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return {bounds, weights, ksize};
}

const clip8 = (sum) => { const v = Math.floor(sum / (1 << PRECISION_BITS)); return v < 0 ? 0 : v > 255 ? 255 : v; };

// ImagingResampleInner: a horizontal pass into 8-bit rows, then a vertical one.
function resample(pixels, width, height, outW, outH, filter, box) {
  const needH = outW !== width || box[0] !== 0 || box[2] !== outW;
  const needV = outH !== height || box[1] !== 0 || box[3] !== outH;
  const vert = coefficients(height, box[1], box[3], outH, filter);
  const first = vert.bounds[0], last = vert.bounds[outH * 2 - 2] + vert.bounds[outH * 2 - 1];
  let current = pixels, curW = width, curH = height, offset = 0;
  if (needH) {
    const hor = coefficients(width, box[0], box[2], outW, filter);
    const rows = last - first;
    const temp = new Uint8Array(outW * rows);
    for (let y = 0; y < rows; y++) {
      const row = (y + first) * width;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = hor.bounds[xx * 2], xmax = hor.bounds[xx * 2 + 1], k = xx * hor.ksize;
        let sum = 1 << (PRECISION_BITS - 1);
        for (let x = 0; x < xmax; x++) sum += current[row + x + xmin] * hor.weights[k + x];
        temp[y * outW + xx] = clip8(sum);
      }
    }
    current = temp; curW = outW; curH = rows; offset = first;
  }
  if (!needV) return current === pixels ? pixels.slice() : current;
  const out = new Uint8Array(curW * outH);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = vert.bounds[yy * 2] - (needH ? offset : 0), ymax = vert.bounds[yy * 2 + 1], k = yy * vert.ksize;
    for (let xx = 0; xx < curW; xx++) {
      let sum = 1 << (PRECISION_BITS - 1);
      for (let y = 0; y < ymax; y++) sum += current[(y + ymin) * curW + xx] * vert.weights[k + y];
      out[yy * curW + xx] = clip8(sum);
    }
  }
  return out;
}
