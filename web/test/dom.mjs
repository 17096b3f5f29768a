// The part of the DOM that web/wikitext.js builds with, for tests under
// node:test: elements, text nodes, fragments, attributes, `dataset`,
// `textContent`, `querySelector(All)` for tag and class selectors, and an
// HTML serialisation to assert on. Nothing here parses HTML, so what a test
// sees is exactly the tree the renderer built.

const VOID = new Set(['br', 'hr', 'img', 'col', 'wbr', 'input', 'meta', 'link']);

const escapeText = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s) => escapeText(s).replace(/"/g, '&quot;');

class Node {
  constructor(ownerDocument) {
    this.ownerDocument = ownerDocument;
    this.parentNode = null;
    this.childNodes = [];
  }

  append(...nodes) {
    for (const n of nodes) {
      const node = typeof n === 'string' ? this.ownerDocument.createTextNode(n) : n;
      if (node instanceof Fragment) {
        for (const c of [...node.childNodes]) this.append(c);
        continue;
      }
      if (node.parentNode) node.remove();
      node.parentNode = this;
      this.childNodes.push(node);
    }
  }

  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.childNodes;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }

  /** Inserts `nodes` just before this node in its parent. */
  before(...nodes) {
    const parent = this.parentNode;
    if (!parent) return;
    const flat = [];
    for (const n of nodes) {
      const node = typeof n === 'string' ? this.ownerDocument.createTextNode(n) : n;
      if (node instanceof Fragment) flat.push(...node.childNodes);
      else flat.push(node);
    }
    for (const node of flat) {
      if (node.parentNode) node.remove();
      node.parentNode = parent;
      parent.childNodes.splice(parent.childNodes.indexOf(this), 0, node);
    }
  }

  get children() {
    return this.childNodes.filter((c) => c instanceof Element);
  }

  get textContent() {
    return this.childNodes.map((c) => c.textContent).join('');
  }

  set textContent(value) {
    for (const c of this.childNodes) c.parentNode = null;
    this.childNodes = [];
    if (value !== '' && value != null) this.append(String(value));
  }

  /** Every element below this node, in document order. */
  * descendants() {
    for (const c of this.childNodes) {
      if (!(c instanceof Element)) continue;
      yield c;
      yield* c.descendants();
    }
  }

  querySelectorAll(selectors) {
    const alternatives = selectors.split(',').map((s) => parseSelector(s.trim()));
    return [...this.descendants()].filter((el) => alternatives.some((test) => test(el)));
  }

  querySelector(selectors) {
    return this.querySelectorAll(selectors)[0] ?? null;
  }

  get innerHTML() {
    return this.childNodes.map((c) => c.outerHTML).join('');
  }
}

/**
 * Compound selectors (`tag`, `.class`, `tag.class`, `*`, `[attr]`) joined by
 * the descendant combinator: all the tests need.
 */
function parseSelector(s) {
  const compounds = s.split(/\s+/).map(parseCompound);
  return (el) => {
    if (!compounds[compounds.length - 1](el)) return false;
    let k = compounds.length - 2;
    for (let up = el.parentNode; up && k >= 0; up = up.parentNode) {
      if (up instanceof Element && compounds[k](up)) k--;
    }
    return k < 0;
  };
}

function parseCompound(s) {
  if (s === '*') return () => true;
  const m = /^([a-z0-9]*)((?:\.[\w-]+)*)(?:\[([\w-]+)\])?$/i.exec(s);
  if (!m) throw new Error(`test DOM: unsupported selector ${s}`);
  const tag = m[1].toLowerCase();
  const classes = m[2] ? m[2].slice(1).split('.') : [];
  const attr = m[3];
  return (el) => (!tag || el.localName === tag)
    && classes.every((c) => el.classList.includes(c))
    && (!attr || el.hasAttribute(attr));
}

class Text extends Node {
  constructor(ownerDocument, data) {
    super(ownerDocument);
    this.data = String(data);
  }

  get textContent() {
    return this.data;
  }

  set textContent(value) {
    this.data = String(value);
  }

  get outerHTML() {
    return escapeText(this.data);
  }
}

class Fragment extends Node {}

const dataKey = (name) => `data-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

class Element extends Node {
  constructor(ownerDocument, localName, namespaceURI) {
    super(ownerDocument);
    this.localName = localName;
    this.namespaceURI = namespaceURI;
    this.attributes = new Map();
    this.listeners = [];
    // `el.dataset.fooBar = v` is the attribute `data-foo-bar`, as in a browser.
    this.dataset = new Proxy({}, {
      set: (_, k, v) => { this.setAttribute(dataKey(k), v); return true; },
      get: (_, k) => (typeof k === 'string' ? this.getAttribute(dataKey(k)) ?? undefined : undefined),
    });
  }

  setAttribute(name, value) {
    this.attributes.set(name.toLowerCase(), String(value));
  }

  getAttribute(name) {
    return this.attributes.has(name.toLowerCase()) ? this.attributes.get(name.toLowerCase()) : null;
  }

  hasAttribute(name) {
    return this.attributes.has(name.toLowerCase());
  }

  addEventListener(type, fn) {
    this.listeners.push([type, fn]);
  }

  get className() {
    return this.getAttribute('class') ?? '';
  }

  set className(v) {
    this.setAttribute('class', v);
  }

  get classList() {
    return this.className.split(/\s+/).filter(Boolean);
  }

  get id() {
    return this.getAttribute('id') ?? '';
  }

  set id(v) {
    this.setAttribute('id', v);
  }

  get hidden() {
    return this.hasAttribute('hidden');
  }

  set colSpan(v) {
    this.setAttribute('colspan', v);
  }

  get colSpan() {
    return Number(this.getAttribute('colspan') ?? 1);
  }

  set rowSpan(v) {
    this.setAttribute('rowspan', v);
  }

  get rowSpan() {
    return Number(this.getAttribute('rowspan') ?? 1);
  }

  get outerHTML() {
    const attrs = [...this.attributes].map(([k, v]) => (v === '' ? ` ${k}` : ` ${k}="${escapeAttr(v)}"`)).join('');
    if (VOID.has(this.localName)) return `<${this.localName}${attrs}>`;
    return `<${this.localName}${attrs}>${this.innerHTML}</${this.localName}>`;
  }
}

/** A new empty document for one test. */
export function createDocument() {
  const doc = {
    createElement: (tag) => new Element(doc, String(tag).toLowerCase(), 'http://www.w3.org/1999/xhtml'),
    createElementNS: (ns, tag) => new Element(doc, String(tag), ns),
    createTextNode: (data) => new Text(doc, data),
    createDocumentFragment: () => new Fragment(doc),
  };
  return doc;
}

export { Element, Fragment, Text };
