// A published trainpad model: draw (or upload a picture) and see what it reads, computed here.
//
// model.json says what the model is and how to feed it; model.onnx is the model, run by ONNX
// Runtime Web (onnxruntime-web/, its WebAssembly build unpacked from gzip here).  A drawing is
// prepared exactly as trainpad's server prepares it (picture.js), the model runs on it, and the
// page shows every class's probability, the picture the model saw, each layer's outputs and,
// once the stroke is done, an occlusion saliency map.  Nothing leaves the page.
import * as ort from './onnxruntime-web/ort.wasm.bundle.min.mjs';
import {BlankImage, normalise, prepare} from './picture.js';
import {escapeHtml, figure, mapGrid, paint, pictureCanvas, saliencyOverlay, shownWidth, unitBars} from './insides.js';

const $ = (id) => document.getElementById(id);
const state = {
  card: null, session: null, language: 'en', pad: null,
  picture: null,     // an uploaded or test picture being shown ({data, width, height}), else the pad
  note: '',          // what the note under the pad says (a test picture's true class)
  generation: 0,     // bumped by every new input: late work for an older one is dropped
  wanted: false, running: false, strokeEnd: 0, last: null,
};
// For tests and benchmarks: how long each answer took from the end of its stroke (ms).
window.__tpTimings = [];

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked === 'en' || asked === 'ko') return asked;
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const code = String(tag).toLowerCase().split('-')[0];
    if (code === 'en' || code === 'ko') return code;
  }
  return 'en';
}

function t(key, values = {}) {
  const template = state.card.texts[state.language][key] ?? state.card.texts.en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : `{${name}}`));
}

function listing(names, most = 10) {
  const shown = names.slice(0, most).join(', ');
  return names.length > most ? t('more', {names: shown, count: names.length - most}) : shown;
}

const digits = () => state.card.classes.join(',') === '0,1,2,3,4,5,6,7,8,9';
const drawable = () => state.card.ink === 'centre';

function source() {
  const card = state.card, dataset = card.dataset.name;
  if (!drawable()) return {hint: t('hint_photos', {dataset, names: listing(card.classes)}), blank: t('blank_photos')};
  if (digits()) return {hint: t('hint_digits'), blank: t('blank_digits')};
  return {hint: t('hint_classes', {count: card.classes.length, dataset, names: listing(card.classes)}), blank: t('blank_classes')};
}

// -- texts and the model card -----------------------------------------------------------

function showTexts() {
  document.documentElement.lang = state.language;
  for (const element of document.querySelectorAll('[data-t]')) element.textContent = t(element.dataset.t);
  $('language').textContent = t('language');
  $('hint').textContent = source().hint;
  $('pad').setAttribute('aria-label', t('pad'));
  $('pad-empty').textContent = source().blank;
  const [, height, width] = state.card.input_shape;
  $('seen-caption').textContent = t('seen', {height, width});
  $('note').textContent = state.note;
  showFacts();
  if (state.last) show(state.last); else showBlank();
}

function settings(entry) {
  const params = Object.entries(entry?.params || {}).map(([key, value]) => `${key.replace(/_/g, ' ')} ${value}`);
  return `${entry?.name ?? ''}${params.length ? ` (${params.join(', ')})` : ''}`;
}

function showFacts() {
  const card = state.card;
  const accuracy = card.metrics.test_accuracy;
  const rows = [
    ['dataset', card.dataset.label && card.dataset.label !== card.dataset.name ? `${card.dataset.name}: ${card.dataset.label}` : card.dataset.name],
    ['classes', card.classes.join(', ')],
    ['accuracy', accuracy === undefined ? t('not_measured') : t('accuracy_value', {accuracy: (accuracy * 100).toFixed(2), dataset: card.dataset.name})],
    ['trained', t('epochs', {epochs: +card.epochs.toFixed(2)})],
    ['model', settings(card.model)],
    ...['optimizer', 'loss'].filter((kind) => card.training[kind]).map((kind) => [kind, settings(card.training[kind])]),
    ['run', Object.entries(card.run).map(([key, value]) => `${key.replace(/_/g, ' ')} ${value}`).join(', ')],
  ];
  $('facts').replaceChildren(...rows.filter(([, value]) => value).flatMap(([key, value]) => {
    const term = document.createElement('dt'), detail = document.createElement('dd');
    term.textContent = t(key);
    detail.textContent = value;
    return [term, detail];
  }));
  $('runtime').textContent = t('runtime', {trainpad: card.trainpad, version: card.runtime.version});
}

// -- the model ----------------------------------------------------------------------------

async function loadSession() {
  const folder = `./${state.card.runtime.folder}/`;
  const response = await fetch(`${folder}ort-wasm-simd-threaded.wasm.gz`);
  if (!response.ok) throw new Error(`ort-wasm-simd-threaded.wasm.gz: HTTP ${response.status}`);
  let bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) { // gzip, unless the server already unpacked it
    const unpacked = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    bytes = new Uint8Array(await new Response(unpacked).arrayBuffer());
  }
  ort.env.wasm.wasmBinary = bytes;
  ort.env.wasm.numThreads = 1; // no cross-origin isolation on a static host: one thread
  return ort.InferenceSession.create(`./${state.card.onnx.file}`, {executionProviders: ['wasm']});
}

async function run(input, count, names) {
  const [channels, height, width] = state.card.input_shape;
  const feeds = {[state.card.onnx.input]: new ort.Tensor('float32', input, [count, channels, height, width])};
  return state.session.run(feeds, names);
}

// -- what is being classified ------------------------------------------------------------

// Ask for the current input to be classified; classifications never overlap, and while one
// runs, later requests fold into one.
function want() {
  state.wanted = true;
  if (!state.running) pump();
}

async function pump() {
  state.running = true;
  try {
    while (state.wanted && state.session) {
      state.wanted = false;
      if (state.pad?.current) await new Promise(requestAnimationFrame); // mid-stroke: once a frame at most
      await classify();
    }
  } finally {
    state.running = false;
  }
}

function currentPixels() {
  if (state.picture) return state.picture;
  if (drawable() && !state.pad.isEmpty()) return state.pad.pixels();
  return null;
}

async function classify() {
  const generation = ++state.generation;
  const pixels = currentPixels();
  const strokeEnd = state.strokeEnd;
  let prepared = null;
  try {
    prepared = pixels && prepare(pixels, state.card);
  } catch (error) {
    if (!(error instanceof BlankImage)) throw error;
  }
  if (!prepared) {
    state.last = null;
    showBlank();
    return;
  }
  const outputs = state.card.onnx.outputs;
  const results = await run(prepared.input, 1, outputs.map((o) => o.name));
  if (generation !== state.generation) return;
  const probabilities = Array.from(results.probabilities.data);
  const layers = outputs.slice(1).map((o) => ({...o, data: results[o.name].data}));
  state.last = {prepared, probabilities, layers, saliency: null};
  show(state.last);
  if (strokeEnd) {
    window.__tpTimings.push(performance.now() - strokeEnd);
    state.strokeEnd = 0;
  }
  if (!state.pad?.current) setTimeout(() => saliency(generation, state.last), 0);
}

// -- showing an answer ---------------------------------------------------------------------

function showBlank() {
  $('prediction').textContent = source().blank;
  $('prediction').classList.add('blank');
  $('probabilities').replaceChildren();
  paint($('seen'), new Uint8Array(state.card.input_shape[1] * state.card.input_shape[2]), state.card.input_shape[2], state.card.input_shape[1]);
  const empty = document.createElement('p');
  empty.className = 'tp-inside-empty';
  empty.textContent = t('inside_empty');
  $('insides').replaceChildren(empty);
}

function show({prepared, probabilities, layers, saliency: heat}) {
  const classes = state.card.classes;
  const order = probabilities.map((p, i) => i).sort((a, b) => probabilities[b] - probabilities[a]);
  const top = order[0];
  const percent = (p) => `${(p * 100).toFixed(1)}%`;
  $('prediction').classList.remove('blank');
  $('prediction').innerHTML = `<b>${escapeHtml(classes[top])}</b> <span>${percent(probabilities[top])}</span>`;
  $('probabilities').replaceChildren(...order.map((i) => {
    const row = document.createElement('li');
    row.className = i === top ? 'top' : '';
    row.innerHTML = `<span class="name">${escapeHtml(classes[i])}</span><span class="bar"><i style="width:${(probabilities[i] * 100).toFixed(1)}%"></i></span><span class="pct">${percent(probabilities[i])}</span>`;
    return row;
  }));
  const {seen, width, height} = prepared;
  paint($('seen'), seen, width, height);
  showInsides(prepared, classes[top], layers, heat);
}

function showInsides(prepared, name, layers, heat) {
  const {seen, width, height} = prepared;
  const items = [];
  const size = shownWidth(width, 112);
  const overlay = pictureCanvas(heat ? saliencyOverlay(seen, heat) : new Uint8Array(seen.length * 3), width, height, size, 'saliency map');
  overlay.id = 'saliency';
  const {patch} = state.card.saliency;
  items.push(figure('saliency', [pair(pictureCanvas(seen, width, height, size, 'the picture the model saw'), overlay)],
    `<b>${escapeHtml(t('saliency'))}</b> · ${escapeHtml(t('saliency_caption', {name, patch}))}`));
  const convolutions = layers.some((layer) => layer.kind === 'maps');
  for (const layer of layers) {
    const label = `<b>${escapeHtml(layer.layer)}</b> · ${escapeHtml(layer.description)} · `;
    if (layer.kind === 'maps') {
      const [count, h, w] = layer.shape;
      const grid = mapGrid(layer.data, count, h, w);
      const shown = layer.total > count ? t('first_of', {count, total: layer.total}) : `${count}`;
      items.push(figure('maps', pictureCanvas(grid.pixels, grid.width, grid.height, shownWidth(grid.width, h > 10 ? 200 : 160), `feature maps of ${layer.layer}`),
        label + escapeHtml(t('maps_caption', {shown, height: h, width: w}))));
    } else if (!convolutions) {
      const values = Array.from(layer.data).slice(0, 32);
      const shown = layer.total > values.length ? t('units_first', {count: values.length, total: layer.total}) : t('units_all', {total: layer.total});
      items.push(figure('units', unitBars(values), label + escapeHtml(t('units_caption', {shown}))));
    }
  }
  $('insides').replaceChildren(...items);
}

function pair(...pictures) {
  const box = document.createElement('div');
  box.className = 'tp-pair';
  box.append(...pictures);
  return box;
}

// Occlusion saliency: cover each patch of the picture the model saw with the background and
// see how much the log-probability of the top class drops; pixels take the mean drop of the
// patches covering them.  Patches without ink are skipped (covering nothing changes nothing).
async function saliency(generation, answer) {
  if (!answer || generation !== state.generation) return;
  const {prepared, probabilities} = answer;
  const [channels, height, width] = state.card.input_shape;
  const {patch, stride} = state.card.saliency;
  const top = probabilities.indexOf(Math.max(...probabilities));
  const base = Math.log(Math.max(probabilities[top], 1e-12));
  const background = normalise(new Uint8Array(1), channels, state.card.mean, state.card.std);
  const starts = (size) => {
    const list = [];
    for (let s = 0; s + patch <= size; s += stride) list.push(s);
    if (list[list.length - 1] !== size - patch) list.push(size - patch);
    return list;
  };
  const patches = [];
  for (const y of starts(height)) {
    for (const x of starts(width)) {
      let ink = false;
      for (let yy = y; yy < y + patch && !ink; yy++) for (let xx = x; xx < x + patch; xx++) if (prepared.seen[yy * width + xx]) { ink = true; break; }
      if (ink) patches.push([y, x]);
    }
  }
  const plane = height * width;
  const drop = new Float64Array(plane), covered = new Float64Array(plane);
  const chunk = 16;
  for (let start = 0; start < patches.length; start += chunk) {
    const group = patches.slice(start, start + chunk);
    const input = new Float32Array(group.length * channels * plane);
    group.forEach(([y, x], k) => {
      input.set(prepared.input, k * channels * plane);
      for (let c = 0; c < channels; c++) {
        for (let yy = y; yy < y + patch; yy++) input.fill(background[c], k * channels * plane + c * plane + yy * width + x, k * channels * plane + c * plane + yy * width + x + patch);
      }
    });
    const results = await run(input, group.length, ['probabilities']);
    if (generation !== state.generation) return;
    const classes = state.card.classes.length;
    group.forEach(([y, x], k) => {
      const score = Math.log(Math.max(results.probabilities.data[k * classes + top], 1e-12));
      const loss = Math.max(0, base - score);
      for (let yy = y; yy < y + patch; yy++) for (let xx = x; xx < x + patch; xx++) { drop[yy * width + xx] += loss; covered[yy * width + xx] += 1; }
    });
    await new Promise((resolve) => setTimeout(resolve, 0)); // let a stroke in between
  }
  const heat = new Float32Array(plane);
  let most = 0;
  for (let i = 0; i < plane; i++) { heat[i] = covered[i] ? drop[i] / covered[i] : 0; most = Math.max(most, heat[i]); }
  if (most > 0) for (let i = 0; i < plane; i++) heat[i] /= most;
  answer.saliency = heat;
  const canvas = $('saliency');
  if (canvas) paint(canvas, saliencyOverlay(prepared.seen, heat), width, height);
  document.body.dataset.saliency = String(generation);
}

// -- pictures: uploads and test images ----------------------------------------------------

function showPicture(pixels, note) {
  state.picture = pixels;
  state.note = note || '';
  $('note').textContent = state.note;
  const canvas = $('picture');
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(pixels.data), pixels.width, pixels.height), 0, 0);
  canvas.hidden = false;
  $('pad-empty').hidden = true;
  want();
}

function forgetPicture() {
  if (!state.picture) return;
  state.picture = null;
  state.note = '';
  $('note').textContent = '';
  $('picture').hidden = true;
  $('pad-empty').hidden = drawable();
}

async function upload(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    $('note').textContent = t('not_a_picture');
    return;
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext('2d', {willReadFrequently: true});
  context.fillStyle = '#ffffff'; // transparency onto white, as trainpad's server flattens it
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0);
  state.pad?.wipe();
  showPicture(context.getImageData(0, 0, canvas.width, canvas.height), file.name);
}

let sprite = null;
async function testImage() {
  const images = state.card.test_images;
  if (!images) return;
  if (!sprite) {
    const bitmap = await createImageBitmap(await (await fetch(images.file)).blob());
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d', {willReadFrequently: true});
    context.drawImage(bitmap, 0, 0);
    sprite = context;
  }
  const [, height, width] = state.card.input_shape;
  const k = Math.floor(Math.random() * images.count);
  const pixels = sprite.getImageData(k * width, 0, width, height);
  const label = images.labels[k];
  const truth = state.card.classes[label] ?? String(label);
  state.pad?.wipe();
  showPicture(pixels, t('test_image', {index: images.indices[k].toLocaleString(), dataset: state.card.dataset.name, truth}));
}

// -- the page -----------------------------------------------------------------------------

function setUp() {
  const canDraw = drawable();
  document.body.classList.toggle('no-pad', !canDraw);
  $('undo').hidden = $('clear').hidden = !canDraw;
  $('sample').hidden = !state.card.test_images;
  $('pad-empty').hidden = canDraw;
  if (canDraw) {
    state.pad = new window.TrainpadPad($('pad'), {
      brush: 34,
      ondraw: () => { forgetPicture(); want(); },
      onstroke: () => { state.strokeEnd = performance.now(); want(); },
    });
  } else {
    $('pad').hidden = true;
  }
  $('clear').addEventListener('click', () => { forgetPicture(); state.pad.clear(); });
  $('undo').addEventListener('click', () => { forgetPicture(); state.pad.undo(); });
  $('sample').addEventListener('click', () => testImage());
  $('upload').addEventListener('change', (event) => { const file = event.target.files[0]; event.target.value = ''; if (file) upload(file); });
  $('language').addEventListener('click', () => { state.language = state.language === 'ko' ? 'en' : 'ko'; showTexts(); });
}

async function main() {
  state.card = await (await fetch('model.json')).json();
  state.language = pickLanguage();
  setUp();
  showTexts();
  $('prediction').textContent = t('loading');
  try {
    state.session = await loadSession();
  } catch (error) {
    $('prediction').textContent = t('load_failed', {error: error.message || error});
    throw error;
  }
  showBlank();
  document.body.dataset.ready = '1';
  if (!drawable() && state.card.test_images) await testImage();
  else want();
}

// For tests: trainpad's preprocessing as this page does it, on any RGBA pixels, and the
// model's probabilities for them.
window.__tpPage = {
  state,
  prepare: (pixels) => prepare(pixels, state.card),
  probabilities: async (pixels) => {
    const {input} = prepare(pixels, state.card);
    return Array.from((await run(input, 1, ['probabilities'])).probabilities.data);
  },
};

main();
