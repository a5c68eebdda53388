"""Small scripts the page runs in the browser, for what only the browser can do at once.

:data:`FIELD_CHECKS` checks every number field against its range while the user types
(the field turns red and says what it accepts, until its value is right however it gets
there; the server checks again at Start, since a client can send anything).  :data:`FOLD_ON_PHONE` closes the accordions marked
``tp-fold-on-phone`` on a narrow screen once the page has loaded, so that the Train tab's
Start button is in sight without scrolling past every setting.  :data:`TOAST_HEADERS`
heads Gradio's pop-ups in Korean on a Korean page.  They run from a hidden
``gr.HTML``'s ``js_on_load`` (see :func:`trainpad.web.app.build_app`) and install
themselves once per page.
"""

from __future__ import annotations

import json

#: The headers of Gradio's pop-ups, and their close button's name, in Korean (:data:`TOAST_HEADERS`).
TOAST_KOREAN = {"Error": "오류", "Warning": "경고", "Info": "알림", "Success": "완료", "Close": "닫기"}
#: The widest screen treated as a phone (CSS pixels), here and in the app's CSS.
PHONE_WIDTH = 640

FIELD_CHECKS = """
if (!window.__tpFieldChecks) {
  window.__tpFieldChecks = true;
  const fmt = (text) => {
    const value = Number(text);
    return Number.isFinite(value) ? value.toLocaleString('en-US', {maximumFractionDigits: 6}) : text;
  };
  // in the page's language, as Gradio picks it for the page's own texts (gr.I18n)
  const korean = (navigator.language || '').toLowerCase().startsWith('ko');
  const problem = (input) => {
    if (input.value === '' && !input.validity.badInput) return '';
    const min = input.getAttribute('min'), max = input.getAttribute('max'), step = input.getAttribute('step');
    const value = Number(input.value);
    const whole = step !== null && Number.isInteger(Number(step)) && Number(step) >= 1;
    const bad = input.validity.badInput || !Number.isFinite(value);
    const outside = !bad && ((min !== null && value < Number(min)) || (max !== null && value > Number(max)));
    if (!bad && !outside && !(whole && !Number.isInteger(value))) return '';
    const asked = whole && !bad;  // a whole number is asked for (a field that cannot read what was typed asks for a number)
    if (korean) {
      const range = min !== null && max !== null ? `${fmt(min)}부터 ${fmt(max)}까지의 `
        : min !== null ? `${fmt(min)} 이상의 ` : max !== null ? `${fmt(max)} 이하의 ` : '';
      return `${range}${asked ? '정수' : '숫자'}를 입력하세요.`;
    }
    const range = min !== null && max !== null ? `from ${fmt(min)} to ${fmt(max)}`
      : min !== null ? `of at least ${fmt(min)}` : max !== null ? `of at most ${fmt(max)}` : '';
    return `Enter a${asked ? ' whole' : ''} number${range ? ' ' + range : ''}.`;
  };
  // A field the server fills (a preset, a link) sends no input event: while a field is
  // marked wrong, it is looked at again a few times a second, and unmarked once it is right.
  const marked = new Set();
  let watching = null;
  const watch = () => {
    marked.forEach((input) => check(input));
    if (!marked.size) { clearInterval(watching); watching = null; }
  };
  const check = (input) => {
    const block = input.closest('.block');
    if (!block) return;
    const text = input.isConnected ? problem(input) : '';
    let note = block.querySelector(':scope .tp-field-note');
    if (!text) {
      marked.delete(input);
      block.classList.remove('tp-field-invalid');
      input.removeAttribute('aria-invalid');
      if (note) note.remove();
      return;
    }
    marked.add(input);
    if (watching === null) watching = setInterval(watch, 300);
    if (!note) {
      note = document.createElement('div');
      note.className = 'tp-field-note';
      note.setAttribute('role', 'alert');
      input.insertAdjacentElement('afterend', note);
    }
    note.textContent = text;
    block.classList.add('tp-field-invalid');
    input.setAttribute('aria-invalid', 'true');
  };
  const onInput = (event) => {
    if (event.target instanceof HTMLInputElement && event.target.type === 'number') check(event.target);
  };
  document.addEventListener('input', onInput, true);
  document.addEventListener('change', onInput, true);
}
"""

FOLD_ON_PHONE = """
if (!window.__tpFold) {
  window.__tpFold = true;
  // Once, soon after the page is built: an accordion still open then is closed (tried a
  // few times, as the page's parts come to life one by one), unless the user has touched it:
  // a tap that opens it is never undone.
  const HEAD = '.tp-fold-on-phone > button.label-wrap';
  const touched = new WeakSet();
  const touch = (event) => { const head = event.target.closest?.(HEAD); if (head) touched.add(head); };
  document.addEventListener('pointerdown', touch, true);
  document.addEventListener('keydown', touch, true);
  let tries = 0;
  const fold = () => {
    if (!window.matchMedia('(max-width: %(width)dpx)').matches) return;
    const all = [...document.querySelectorAll(HEAD)];
    const heads = all.filter((head) => !touched.has(head));
    heads.filter((head) => head.classList.contains('open')).forEach((head) => head.click());
    const open = heads.filter((head) => head.classList.contains('open')).length;
    if ((open || !all.length) && ++tries < 40) setTimeout(fold, 250);
  };
  setTimeout(fold, 300);
}
""" % {"width": PHONE_WIDTH}

#: Gradio 6's pop-ups are headed by their kind ("Error", "Warning", "Info"), in English
#: whatever the page's language and whatever ``title`` the server gave: in Korean, each
#: header is written again as it appears.
TOAST_HEADERS = """
if (!window.__tpToastHeaders && (navigator.language || '').toLowerCase().startsWith('ko')) {
  window.__tpToastHeaders = true;
  const KOREAN = %(korean)s;
  const retitle = () => document.querySelectorAll('.toast-title').forEach((title) => {
    const text = title.firstChild;  // the kind, then "(2)" when several are stacked
    const word = text && text.nodeType === Node.TEXT_NODE ? text.data.trim() : '';
    if (KOREAN[word]) text.data = KOREAN[word] + ' ';
    const close = title.closest('.toast-body')?.querySelector('[data-testid="toast-close"]');
    if (close && close.getAttribute('aria-label') === 'Close') close.setAttribute('aria-label', KOREAN.Close);
  });
  new MutationObserver(retitle).observe(document.body, {childList: true, subtree: true, characterData: true});
}
""" % {"korean": json.dumps(TOAST_KOREAN, ensure_ascii=False)}

#: Everything above, for one ``js_on_load``.
PAGE_JS = FIELD_CHECKS + FOLD_ON_PHONE + TOAST_HEADERS

__all__ = ["FIELD_CHECKS", "FOLD_ON_PHONE", "PAGE_JS", "PHONE_WIDTH", "TOAST_HEADERS"]
