// A drawing pad on a plain 2D <canvas>: black strokes on white, drawn as the pointer moves.
//
// Shared by the published page and trainpad's Predict tab.  Each pointer move strokes one
// short segment on the canvas (microseconds of work, even in a browser without a GPU); the
// picture is read only when someone asks for it (pixels(), png()).  Mouse, pen and touch
// alike (pointer events, touch-action: none); strokes are kept as points, so Undo redraws the
// ones left exactly as they were drawn.
//
//   const pad = new TrainpadPad(canvas, {brush: 34, onstroke: () => ..., ondraw: () => ...});
//   pad.clear(); pad.undo(); pad.wipe(); pad.isEmpty(); pad.pixels(); await pad.png();
//
// onstroke runs when a stroke ends (and after Clear or Undo); ondraw after each move of a
// stroke under way.  The canvas's own width and height are its picture's pixels (800 x 800 in
// trainpad, as the Gradio sketch pad it replaces); its CSS size only scales what is shown.
(function (root) {
  'use strict';

  class TrainpadPad {
    constructor(canvas, options = {}) {
      this.canvas = canvas;
      this.brush = options.brush || 34;
      this.onstroke = options.onstroke || (() => {});
      this.ondraw = options.ondraw || (() => {});
      this.strokes = [];
      this.current = null;
      this.enabled = true;
      this.context = canvas.getContext('2d', {willReadFrequently: true});
      canvas.style.touchAction = 'none';
      this.paper();
      canvas.addEventListener('pointerdown', (event) => this.down(event));
      canvas.addEventListener('pointermove', (event) => this.move(event));
      for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(type, (event) => this.up(event));
    }

    paper() {
      const g = this.context;
      g.fillStyle = '#ffffff';
      g.fillRect(0, 0, this.canvas.width, this.canvas.height);
      g.fillStyle = g.strokeStyle = '#000000';
      g.lineCap = g.lineJoin = 'round';
      g.lineWidth = this.brush;
    }

    point(event) {
      const box = this.canvas.getBoundingClientRect();
      return [(event.clientX - box.left) * this.canvas.width / box.width, (event.clientY - box.top) * this.canvas.height / box.height];
    }

    dot([x, y]) {
      const g = this.context;
      g.beginPath();
      g.arc(x, y, this.brush / 2, 0, 2 * Math.PI);
      g.fill();
    }

    segment([x0, y0], [x1, y1]) {
      const g = this.context;
      g.beginPath();
      g.moveTo(x0, y0);
      g.lineTo(x1, y1);
      g.stroke();
    }

    down(event) {
      if (!this.enabled || (event.pointerType === 'mouse' && event.button !== 0)) return;
      event.preventDefault();
      this.canvas.setPointerCapture?.(event.pointerId);
      this.current = {id: event.pointerId, points: [this.point(event)]};
      this.dot(this.current.points[0]);
      this.ondraw();
    }

    move(event) {
      if (!this.current || event.pointerId !== this.current.id) return;
      event.preventDefault();
      const points = this.current.points;
      // the positions the browser merged into this event, for a smooth line on a fast hand
      const merged = event.getCoalescedEvents?.() || [];
      for (const e of merged.length ? merged : [event]) {
        const p = this.point(e);
        this.segment(points[points.length - 1], p);
        points.push(p);
      }
      this.ondraw();
    }

    up(event) {
      if (!this.current || event.pointerId !== this.current.id) return;
      this.strokes.push(this.current.points);
      this.current = null;
      this.onstroke();
    }

    redraw() {
      this.paper();
      for (const points of this.strokes) {
        this.dot(points[0]);
        for (let i = 1; i < points.length; i++) this.segment(points[i - 1], points[i]);
      }
    }

    // Empty the pad, saying so (onstroke) or not (wipe).
    wipe() {
      this.strokes = [];
      this.current = null;
      this.paper();
    }

    clear() {
      this.wipe();
      this.onstroke();
    }

    undo() {
      if (!this.strokes.length) return;
      this.strokes.pop();
      this.redraw();
      this.onstroke();
    }

    isEmpty() {
      return this.strokes.length === 0 && !this.current;
    }

    pixels() {
      return this.context.getImageData(0, 0, this.canvas.width, this.canvas.height);
    }

    // The picture as a PNG Blob.  Through toDataURL: the browser may hold toBlob's encoding
    // back until it has an idle moment (seconds, in a headless browser).
    async png() {
      return (await fetch(this.canvas.toDataURL('image/png'))).blob();
    }
  }

  root.TrainpadPad = TrainpadPad;
})(typeof window !== 'undefined' ? window : globalThis);
