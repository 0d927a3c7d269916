type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((ev: Event) => void)>;

/** A tiny element builder: h('td', {class: 'num'}, '12'). Strings become text nodes (never HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Same for SVG elements. */
export function s(tag: string, attrs: Attrs = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** The element with this id; throws when the page lacks it (a build/markup mismatch). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/**
 * Puts `rows` into `body` changing as little as possible: rows are matched by
 * their data-key, attributes are copied and only cells whose markup changed
 * are replaced. A live table updated every second then keeps its buttons
 * (a click is not lost to a re-render) and its hover state.
 */
export function syncRows(body: HTMLElement, rows: HTMLTableRowElement[]): void {
  const old = new Map<string, HTMLTableRowElement>();
  for (const el of Array.from(body.children)) {
    const key = (el as HTMLElement).dataset['key'];
    if (key !== undefined && el instanceof HTMLTableRowElement) old.set(key, el);
    else el.remove();
  }
  const keep: HTMLTableRowElement[] = rows.map((row) => {
    const key = row.dataset['key'] ?? '';
    const prev = old.get(key);
    if (!prev || prev.cells.length !== row.cells.length) return row;
    old.delete(key);
    for (const a of Array.from(prev.attributes)) if (!row.hasAttribute(a.name)) prev.removeAttribute(a.name);
    for (const a of Array.from(row.attributes)) if (prev.getAttribute(a.name) !== a.value) prev.setAttribute(a.name, a.value);
    Array.from(row.cells).forEach((cell, i) => {
      if (prev.cells[i]!.outerHTML !== cell.outerHTML) prev.cells[i]!.replaceWith(cell);
    });
    return prev;
  });
  for (const el of old.values()) el.remove();
  keep.forEach((row, i) => {
    if (body.children[i] !== row) body.insertBefore(row, body.children[i] ?? null);
  });
}
