// wikidex's wikitext renderer: the wikitext of one page as DOM nodes.
//
// An ES module with no browser globals: the caller hands in the `document`
// to build with, so the page uses the browser's and the unit tests
// (web/test/, `node --test`) a small one of their own, and no browser is
// needed to test it. Untrusted text only reaches the DOM through text nodes
// and validated attributes: nothing here assigns innerHTML.

// ------------------------------------------------------------- titles

/** Namespace numbers of English Wikipedia, as named in the dump's siteinfo. */
export const NAMESPACES = {
  '-2': 'Media', '-1': 'Special', 0: 'Article', 1: 'Talk', 2: 'User', 3: 'User talk',
  4: 'Wikipedia', 5: 'Wikipedia talk', 6: 'File', 7: 'File talk', 8: 'MediaWiki',
  9: 'MediaWiki talk', 10: 'Template', 11: 'Template talk', 12: 'Help', 13: 'Help talk',
  14: 'Category', 15: 'Category talk', 100: 'Portal', 101: 'Portal talk', 108: 'Book',
  109: 'Book talk', 118: 'Draft', 119: 'Draft talk', 446: 'Education Program',
  447: 'Education Program talk', 710: 'TimedText', 711: 'TimedText talk', 828: 'Module',
  829: 'Module talk', 2300: 'Gadget', 2301: 'Gadget talk', 2302: 'Gadget definition',
  2303: 'Gadget definition talk',
};
export const nsName = (ns) => NAMESPACES[ns] || `Namespace ${ns}`;
/** Lower-cased namespace prefix → its canonical spelling (for link targets). */
const NS_PREFIXES = new Map(
  Object.entries(NAMESPACES).filter(([k]) => k !== '0').map(([, v]) => [v.toLowerCase(), v]),
);
NS_PREFIXES.set('image', 'File');
NS_PREFIXES.set('wp', 'Wikipedia');
NS_PREFIXES.set('project', 'Wikipedia');

/** A link target as MediaWiki would store it: spaces, first letters upper-cased. */
export function normalizeTitle(t) {
  let s = t.replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
  const upperFirst = (x) => (x ? x[0].toUpperCase() + x.slice(1) : x);
  const colon = s.indexOf(':');
  if (colon > 0) {
    const canon = NS_PREFIXES.get(s.slice(0, colon).trim().toLowerCase());
    if (canon) return `${canon}:${upperFirst(s.slice(colon + 1).trim())}`;
  }
  return upperFirst(s);
}

// --------------------------------------------------------------- DOM

/**
 * An element maker bound to `document`: `h(tag, attrs, ...children)` creates an element. `attrs` values: `class`, `text` (a text node),
 * `dataset` (an object), event handlers `on*`, and otherwise attributes
 * (skipped when null/false). Children are nodes or strings (text nodes).
 */
export function elementBuilder(document) {
  return function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v == null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c == null || c === false) continue;
      el.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
  };
}

// ------------------------------------------------------ wikitext parsing

const MARK_OPEN = '\uE000';
const MARK_CLOSE = '\uE001';
const MARK_RE = /\uE000(\d+)\uE001/g;
const MEDIA_LINE_RE = /^\s*\[\[\s*(?:file|image)\s*:/i;
const ONLY_MARKS_RE = /^\s*(?:\uE000\d+\uE001\s*)+$/;

const ENTITIES = {
  nbsp: '\u00a0', ndash: '–', mdash: '—', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'",
  minus: '−', times: '×', divide: '÷', hellip: '…', deg: '°', copy: '©', reg: '®', trade: '™',
  laquo: '«', raquo: '»', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', sbquo: '‚', bdquo: '„',
  middot: '·', bull: '•', thinsp: '\u2009', ensp: '\u2002', emsp: '\u2003', zwj: '\u200d',
  zwnj: '\u200c', shy: '\u00ad', lrm: '\u200e', rlm: '\u200f', euro: '€', pound: '£', yen: '¥',
  cent: '¢', sect: '§', para: '¶', plusmn: '±', frac12: '½', frac14: '¼', frac34: '¾',
  prime: '′', Prime: '″', larr: '←', rarr: '→', harr: '↔', uarr: '↑', darr: '↓', rArr: '⇒',
  le: '≤', ge: '≥', ne: '≠', asymp: '≈', infin: '∞', sup1: '¹', sup2: '²', sup3: '³', micro: 'µ',
  alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', epsilon: 'ε', lambda: 'λ', mu: 'μ', pi: 'π',
  sigma: 'σ', tau: 'τ', phi: 'φ', omega: 'ω', theta: 'θ', Delta: 'Δ', Sigma: 'Σ', Omega: 'Ω',
  iexcl: '¡', iquest: '¿', ordm: 'º', ordf: 'ª', dagger: '†', Dagger: '‡', permil: '‰',
};

['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu', 'nu', 'xi',
  'omicron', 'pi', 'rho', 'sigmaf', 'sigma', 'tau', 'upsilon', 'phi', 'chi', 'psi', 'omega'].forEach((name, k) => {
  ENTITIES[name] = String.fromCodePoint(0x3b1 + k);
  if (name !== 'sigmaf') ENTITIES[name[0].toUpperCase() + name.slice(1)] = String.fromCodePoint(0x391 + k);
});
Object.assign(ENTITIES, {
  fnof: 'ƒ', part: '∂', sum: '∑', prod: '∏', radic: '√', int: '∫', isin: '∈', notin: '∉', cap: '∩', cup: '∪',
  sdot: '⋅', lowast: '∗', equiv: '≡', and: '∧', or: '∨', not: '¬', forall: '∀', exist: '∃', empty: '∅',
  nabla: '∇', sub: '⊂', sup: '⊃', sube: '⊆', supe: '⊇', oplus: '⊕', otimes: '⊗', perp: '⊥', ang: '∠',
  there4: '∴', sim: '∼', cong: '≅', prop: '∝', hArr: '⇔', lArr: '⇐', crarr: '↵', loz: '◊', spades: '♠',
  clubs: '♣', hearts: '♥', diams: '♦', acute: '´', cedil: '¸', uml: '¨', macr: '¯', brvbar: '¦', curren: '¤',
  aacute: 'á', eacute: 'é', iacute: 'í', oacute: 'ó', uacute: 'ú', agrave: 'à', egrave: 'è', igrave: 'ì',
  ograve: 'ò', ugrave: 'ù', acirc: 'â', ecirc: 'ê', icirc: 'î', ocirc: 'ô', ucirc: 'û', auml: 'ä', euml: 'ë',
  iuml: 'ï', ouml: 'ö', uuml: 'ü', yuml: 'ÿ', atilde: 'ã', otilde: 'õ', ntilde: 'ñ', aring: 'å', aelig: 'æ',
  oslash: 'ø', ccedil: 'ç', szlig: 'ß', eth: 'ð', thorn: 'þ', Aacute: 'Á', Eacute: 'É', Iacute: 'Í',
  Oacute: 'Ó', Uacute: 'Ú', Auml: 'Ä', Ouml: 'Ö', Uuml: 'Ü', Aring: 'Å', AElig: 'Æ', Oslash: 'Ø',
  Ccedil: 'Ç', Ntilde: 'Ñ', oelig: 'œ', OElig: 'Œ', scaron: 'š', Scaron: 'Š',
});

/** Inline HTML tags rendered as themselves (without attributes). */
const INLINE_TAGS = { __proto__: null,
  b: 'b', strong: 'strong', i: 'i', em: 'em', u: 'u', s: 's', strike: 's', del: 'del', ins: 'ins',
  small: 'small', big: 'span', sub: 'sub', sup: 'sup', code: 'code', tt: 'code', kbd: 'kbd',
  var: 'var', samp: 'samp', q: 'q', abbr: 'abbr', cite: 'cite', dfn: 'dfn', mark: 'mark',
};

const HATNOTES = { __proto__: null, main: 'Main article', 'main article': 'Main article', 'see also': 'See also',
  further: 'Further information', 'further information': 'Further information', details: 'For more details, see' };
const HIDDEN_TEMPLATE_RE = /^(use |pp-|pp$|short description|italic title|defaultsort|displaytitle|good article|featured article|engvar|toc ?limit|clear|-$|anchor|dmy|mdy|coord missing|lowercase title|redirect category shell|r from |r to |r with |r \w+$|other uses|about|for$|redirect|distinguish|hatnote|wiktionary|commons|portal|refimprove|more citations|multiple issues|unreferenced|cleanup|citation style|original research|expand|update|very long|copy ?edit|pov|dablink)/i;
/** Templates that make a list inside running text or an infobox cell. */
const LIST_TEMPLATES = { __proto__: null, plainlist: 'wrapped', 'plain list': 'wrapped', flatlist: 'wrapped',
  'flat list': 'wrapped', 'unbulleted list': 'items', ubl: 'items', ubil: 'items', hlist: 'items' };
const CITATION_NEEDED = { __proto__: null, 'citation needed': 'citation needed', cn: 'citation needed', fact: 'citation needed',
  'citation needed span': 'citation needed', when: 'when?', who: 'who?', clarify: 'clarification needed',
  dubious: 'dubious', 'by whom': 'by whom?', 'which': 'which?', 'according to whom': 'according to whom?',
  'page needed': 'page needed', 'failed verification': 'failed verification', 'not in citation given': 'not in citation given' };

/** Index of the `close` matching the `open` at `i`, honouring nesting; -1 if none. */
function findClose(s, i, open, close) {
  let depth = 0;
  for (let k = i; k < s.length;) {
    if (s.startsWith(open, k)) { depth++; k += open.length; continue; }
    if (s.startsWith(close, k)) {
      depth--;
      if (depth === 0) return k;
      k += close.length;
      continue;
    }
    k++;
  }
  return -1;
}

/** Splits at `sep` outside `[[…]]` and `{{…}}`. */
function splitTop(s, sep) {
  const out = [];
  let depthL = 0, depthT = 0, last = 0;
  for (let k = 0; k < s.length; k++) {
    if (s.startsWith('[[', k)) { depthL++; k++; continue; }
    if (s.startsWith(']]', k) && depthL) { depthL--; k++; continue; }
    if (s.startsWith('{{', k)) { depthT++; k++; continue; }
    if (s.startsWith('}}', k) && depthT) { depthT--; k++; continue; }
    if (!depthL && !depthT && s.startsWith(sep, k)) {
      out.push(s.slice(last, k));
      last = k + sep.length;
      k += sep.length - 1;
    }
  }
  out.push(s.slice(last));
  return out;
}

/** Source text with our markers put back as the wikitext they stand for. */
const unmark = (s, ctx) => s.replace(MARK_RE, (m, n) => {
  const item = ctx.store[Number(n)];
  return item && item.raw != null ? unmark(item.raw, ctx) : '';
});

const slug = (text) => `h-${text.trim().replace(/\s+/g, '_')}`;

/** Replaces templates, tables, nowiki, pre, math by markers; drops comments and refs. */
function protect(src, ctx, nested = false) {
  const mark = (item) => `${MARK_OPEN}${ctx.store.push(item) - 1}${MARK_CLOSE}`;
  // Markers in the input are forged unless they are ours from an outer pass.
  let s = src.replace(/\r\n?/g, '\n');
  if (!nested) s = s.replace(/[\uE000\uE001]/g, '');
  s = s.replace(/<!--[\s\S]*?(?:-->|$)/g, '');
  s = s.replace(/<nowiki\s*\/>/gi, '');
  s = s.replace(/<nowiki(?:\s[^>]*)?>([\s\S]*?)<\/nowiki\s*>/gi, (m, t) => mark({ type: 'text', text: decodeEntities(t), raw: m }));
  s = s.replace(/<(pre|source|syntaxhighlight)(?:\s[^>]*)?>([\s\S]*?)<\/\1\s*>/gi,
    (m, tag, t) => mark({ type: 'pre', text: tag.toLowerCase() === 'pre' ? decodeEntities(t) : t.replace(/^\n+|\n+$/g, ''), raw: m }));
  s = s.replace(/<(math|chem|ce)(?:\s[^>]*)?>([\s\S]*?)<\/\1\s*>/gi, (m, tag, t) => mark({ type: 'math', text: t.trim(), raw: m }));
  s = s.replace(/<ref\b[^>]*\/>/gi, '');
  s = s.replace(/<ref\b[^>]*>[\s\S]*?<\/ref\s*>/gi, '');
  s = s.replace(/<references\b[^>]*>[\s\S]*?<\/references\s*>|<references\b[^>]*\/?>/gi, (m) => mark({ type: 'refnote', raw: m }));
  s = s.replace(/<(gallery|imagemap|timeline|graph|mapframe|score|templatedata)(?:\s[^>]*)?>([\s\S]*?)<\/\1\s*>/gi,
    (m, tag, t) => mark({ type: 'gallery', tag: tag.toLowerCase(), text: t.trim(), raw: m }));
  s = s.replace(/<includeonly>[\s\S]*?<\/includeonly>/gi, '');
  s = s.replace(/__[A-Z]+__/g, '');
  s = extractTemplates(s, mark);
  s = joinMediaLines(s);
  s = s.replace(/<blockquote(?:\s[^>]*)?>([\s\S]*?)<\/blockquote\s*>/gi, (m, t) => `\n${mark({ type: 'quote', text: t, raw: m })}\n`);
  s = extractTables(s, mark);
  return s;
}

function extractTemplates(s, mark) {
  let out = '';
  let last = 0;
  let depth = 0;
  let start = -1;
  for (let i = 0; i < s.length;) {
    if (s.charCodeAt(i) === 123 && s.charCodeAt(i + 1) === 123) { // {{
      if (depth === 0) start = i;
      depth++;
      i += 2;
    } else if (depth > 0 && s.charCodeAt(i) === 125 && s.charCodeAt(i + 1) === 125) { // }}
      depth--;
      i += 2;
      if (depth === 0) {
        out += s.slice(last, start) + mark(parseTemplate(s.slice(start, i)));
        last = i;
      }
    } else {
      i++;
    }
  }
  return out + s.slice(last);
}

function parseTemplate(src) {
  const parts = splitTop(src.slice(2, -2), '|');
  let name = parts[0].trim().replace(/_/g, ' ').replace(/\s+/g, ' ');
  let first = null;
  const colon = name.indexOf(':');
  if (colon > 0 && (name[0] === '#' || /^[A-Z]+$/.test(name.slice(0, colon)) || /^(subst|safesubst|template)$/i.test(name.slice(0, colon)))) {
    if (/^(subst|safesubst|template)$/i.test(name.slice(0, colon))) name = name.slice(colon + 1).trim();
    else { first = name.slice(colon + 1); name = name.slice(0, colon); }
  }
  const positional = [];
  const named = Object.create(null);
  if (first != null) positional.push(first);
  for (const p of parts.slice(1)) {
    const eq = splitTop(p, '=');
    if (eq.length > 1 && /^[\w\s-]+$/.test(eq[0])) named[eq[0].trim()] = eq.slice(1).join('=').trim();
    else positional.push(p);
  }
  return { type: 'template', src, raw: src, name, key: name.toLowerCase(), positional, named, params: parts.length - 1 };
}

/** File links whose captions run over several lines, put on one line. */
function joinMediaLines(s) {
  const re = /\[\[\s*(?:file|image)\s*:/gi;
  let out = '';
  let last = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const end = findClose(s, m.index, '[[', ']]');
    if (end < 0) break;
    const chunk = s.slice(m.index, end + 2);
    if (chunk.includes('\n')) {
      out += s.slice(last, m.index) + chunk.replace(/\s*\n\s*/g, ' ');
      last = end + 2;
    }
    re.lastIndex = end + 2;
  }
  return out + s.slice(last);
}

function extractTables(s, mark) {
  if (!s.includes('{|')) return s;
  const lines = s.split('\n');
  const out = [];
  let depth = 0;
  let buf = [];
  for (const line of lines) {
    const t = line.trimStart();
    if (t.startsWith('{|')) {
      depth++;
      buf.push(line);
      continue;
    }
    if (depth > 0) {
      buf.push(line);
      if (t.startsWith('|}')) {
        depth--;
        if (depth === 0) {
          out.push(mark({ type: 'table', src: buf.join('\n'), raw: buf.join('\n') }));
          buf = [];
        }
      }
      continue;
    }
    out.push(line);
  }
  if (buf.length) out.push(mark({ type: 'table', src: buf.join('\n'), raw: buf.join('\n') }));
  return out.join('\n');
}

function decodeEntities(s) {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,9});/g, (m, e) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
    }
    return Object.prototype.hasOwnProperty.call(ENTITIES, e) ? ENTITIES[e] : m;
  });
}

const EXT_LINK_RE = /\[((?:https?:|ftp:|mailto:|\/\/)[^\s\]<>"]+)/y;
const BARE_URL_RE = /(?:https?|ftp):\/\/[^\s<>[\]"{}|\uE000]+/y;
const TAG_RE = /<(\/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*?(\/?)>/y;
const ENTITY_RE = /&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,9});/y;
const MARK_AT_RE = /\uE000(\d+)\uE001/y;
const MEDIA_OPTIONS = /^(thumb|thumbnail|frame|framed|frameless|border|left|right|center|centre|none|upright(=.*)?|baseline|middle|sub|super|top|text-top|bottom|text-bottom|\d*x?\d+px|alt=.*|link=.*|class=.*|lang=.*|page=.*|upright ?[\d.]+)$/i;

/** Index of the `]` closing an external link whose URL ends at `j`; -1 if none. */
function extLinkEnd(text, j) {
  if (j < text.length && !/[\s\]]/.test(text[j])) return -1;
  for (let k = j; k < text.length; k++) {
    if (text.startsWith('[[', k)) {
      const end = findClose(text, k, '[[', ']]');
      if (end < 0) return -1;
      k = end + 1;
    } else if (text[k] === ']') {
      return k;
    }
  }
  return -1;
}

function safeHref(url) {
  let u = url;
  if (u.startsWith('//')) u = `https:${u}`;
  try {
    const parsed = new URL(u);
    return ['http:', 'https:', 'ftp:', 'mailto:'].includes(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

// --------------------------------------------------------- rendering

/**
 * A renderer building with `document`. `linkHref(title)` is the address a
 * wiki link to `title` points at (the page opens links itself, by their
 * `data-title`); `wide()` says whether the page has room for the contents
 * and the infobox to start open (the infobox then beside the text).
 */
export function createRenderer({
  document,
  linkHref = (title) => `/?page=${encodeURIComponent(title)}`,
  wide = () => true,
}) {
  const h = elementBuilder(document);

  /** A small picture icon (files and galleries), drawn rather than an emoji so no font is needed. */
  function mediaIcon() {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('class', 'media-icon');
    svg.setAttribute('aria-hidden', 'true');
    const rect = document.createElementNS(NS, 'rect');
    for (const [k, v] of Object.entries({ x: 1.5, y: 2.5, width: 13, height: 11, rx: 2, fill: 'none', stroke: 'currentColor', 'stroke-width': 1.4 })) rect.setAttribute(k, v);
    const path = document.createElementNS(NS, 'path');
    for (const [k, v] of Object.entries({ d: 'M2.5 12l4-4 3 3 2-2 3 3', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.4, 'stroke-linejoin': 'round' })) path.setAttribute(k, v);
    const sun = document.createElementNS(NS, 'circle');
    for (const [k, v] of Object.entries({ cx: 11, cy: 6, r: 1.4, fill: 'currentColor' })) sun.setAttribute(k, v);
    svg.append(rect, path, sun);
    return svg;
  }

  /** Appends raw wikitext (e.g. a template parameter) inline. */
  const appendRaw = (el, raw, ctx) => appendInline(el, protect(raw, ctx, true), ctx);

  /**
   * Renders wikitext as a DocumentFragment: headings, paragraphs, lists,
   * bold/italic, links, simple tables; templates collapsed, refs and comments
   * dropped. Everything untrusted goes in as text nodes.
   */
  function renderWikitext(src) {
    const ctx = { store: [], categories: [], headings: [], extLinkCount: 0 };
    const text = protect(src, ctx);
    const frag = document.createDocumentFragment();
    renderBlocks(text, frag, ctx);
    if (ctx.headings.length >= 4) {
      const toc = buildToc(ctx.headings);
      const first = frag.querySelector('h3, h4, h5, h6');
      if (first) first.before(toc);
    }
    if (ctx.categories.length) {
      const seen = new Set();
      const links = [];
      for (const c of ctx.categories) {
        const t = normalizeTitle(`Category:${c}`);
        if (seen.has(t)) continue;
        seen.add(t);
        links.push(h('li', null, h('a', { href: linkHref(t), class: 'wl', dataset: { title: t }, text: t.slice(9) })));
      }
      frag.append(h('footer', { class: 'categories' }, h('span', { class: 'categories-label', text: 'Categories' }), h('ul', null, ...links)));
    }
    return frag;
  }

  /** A single line of wikitext (e.g. an edit summary) as a fragment. */
  function renderInline(src) {
    const ctx = { store: [], categories: [], headings: [], extLinkCount: 0 };
    const frag = document.createDocumentFragment();
    appendInline(frag, protect(src, ctx), ctx);
    return frag;
  }

  function renderBlocks(text, container, ctx) {
    const lines = text.split('\n');
    let para = [];
    let pre = [];
    let lists = []; // [{ch, list, item}]

    const flushPara = () => {
      if (!para.length) return;
      const p = h('p');
      para.forEach((line, k) => {
        if (k) p.append(' ');
        appendInline(p, line, ctx);
      });
      if (p.textContent.trim() || p.querySelector('*')) container.append(p);
      para = [];
    };
    const flushPre = () => {
      if (!pre.length) return;
      const el = h('pre', { class: 'wikipre' });
      pre.forEach((line, k) => {
        if (k) el.append('\n');
        appendInline(el, line, ctx);
      });
      container.append(el);
      pre = [];
    };
    const closeLists = () => { lists = []; };
    const flushAll = () => { flushPara(); flushPre(); closeLists(); };

    for (const line of lines) {
      const heading = /^(={1,6})\s*(.*?)\s*(={1,6})\s*$/.exec(line);
      if (heading && heading[2]) {
        flushAll();
        const level = Math.min(heading[1].length, heading[3].length);
        const tag = `h${Math.min(6, Math.max(3, level + 1))}`;
        const el = h(tag, { class: 'wiki-heading' });
        appendInline(el, heading[2], ctx);
        el.id = slug(el.textContent);
        ctx.headings.push({ level, text: el.textContent, id: el.id });
        container.append(el);
        continue;
      }
      const listm = /^([*#:;]+)\s*(.*)$/.exec(line);
      if (listm) {
        flushPara();
        flushPre();
        lists = addListItem(lists, listm[1], listm[2], container, ctx);
        continue;
      }
      closeLists();
      if (/^-{4,}\s*$/.test(line)) {
        flushPara();
        flushPre();
        container.append(h('hr'));
        continue;
      }
      if (!line.trim()) {
        flushPara();
        flushPre();
        continue;
      }
      if (ONLY_MARKS_RE.test(line)) {
        flushPara();
        flushPre();
        for (const m of line.matchAll(MARK_RE)) {
          const node = renderBlockItem(ctx.store[Number(m[1])], ctx);
          if (node) container.append(node);
        }
        continue;
      }
      if (MEDIA_LINE_RE.test(line) && findClose(line, line.indexOf('[['), '[[', ']]') === line.trimEnd().length - 2) {
        flushPara();
        flushPre();
        const div = h('div', { class: 'media-block' });
        appendInline(div, line.trim(), ctx);
        if (div.childNodes.length) container.append(div);
        continue;
      }
      if (line[0] === ' ' && line.trim()) {
        flushPara();
        pre.push(line.slice(1));
        continue;
      }
      flushPre();
      para.push(line);
    }
    flushAll();
  }

  function addListItem(lists, prefix, rest, container, ctx) {
    const kind = (ch) => (ch === ';' ? ':' : ch);
    let common = 0;
    while (common < lists.length && common < prefix.length && kind(lists[common].ch) === kind(prefix[common])) common++;
    // Keep the lists this prefix shares with the previous line's; when it is
    // all shared, the item goes into the innermost of them.
    lists = lists.slice(0, common);
    for (let k = lists.length; k < prefix.length; k++) {
      const ch = prefix[k];
      const list = h(ch === '*' ? 'ul' : ch === '#' ? 'ol' : 'dl');
      let parent = container;
      if (k > 0) {
        const up = lists[k - 1];
        if (!up.item) {
          up.item = h(up.ch === '*' || up.ch === '#' ? 'li' : 'dd');
          up.list.append(up.item);
        }
        parent = up.item;
      }
      parent.append(list);
      lists.push({ ch, list, item: null });
    }
    const top = lists[lists.length - 1];
    const ch = prefix[prefix.length - 1];
    top.ch = ch;
    if (ch === ';') {
      const colon = splitTop(rest, ':');
      const dt = h('dt');
      appendInline(dt, colon[0].trim(), ctx);
      top.list.append(dt);
      top.item = dt;
      if (colon.length > 1) {
        const dd = h('dd');
        appendInline(dd, colon.slice(1).join(':').trim(), ctx);
        top.list.append(dd);
        top.item = dd;
      }
    } else {
      const item = h(ch === ':' ? 'dd' : 'li');
      appendInline(item, rest, ctx);
      top.list.append(item);
      top.item = item;
    }
    return lists;
  }

  function buildToc(headings) {
    const minLevel = Math.min(...headings.map((x) => x.level));
    const ol = h('ol');
    for (const x of headings) {
      ol.append(h('li', { class: `toc-l${Math.min(4, x.level - minLevel)}` },
        h('a', { href: `#${x.id}`, class: 'anchor-link', dataset: { anchor: x.id }, text: x.text })));
    }
    return h('nav', { class: 'toc', 'aria-label': 'Contents' },
      h('details', { open: wide() }, h('summary', { text: 'Contents' }), ol));
  }

  function templateBox(item, ctx) {
    const name = item.name || '…';
    const info = item.params ? `${item.params} parameter${item.params === 1 ? '' : 's'}` : 'template';
    return h('details', { class: 'tpl-box' },
      h('summary', null, h('span', { class: 'tpl-name', text: `{{${name}}}` }), h('span', { class: 'tpl-info', text: info })),
      h('pre', { class: 'tpl-src', text: unmark(item.src, ctx) }));
  }

  /** Infobox-like templates: their named fields as a table, collapsed. */
  function infoBox(item, ctx) {
    const table = h('table', { class: 'infobox-table' });
    let n = 0;
    for (const [key, value] of Object.entries(item.named)) {
      if (!value.trim()) continue;
      const td = h('td');
      appendRaw(td, value, ctx);
      if (!td.textContent.trim()) continue;
      table.append(h('tr', null, h('th', { scope: 'row', text: key.replace(/_/g, ' ') }), td));
      n++;
    }
    return h('details', { class: 'tpl-box infobox', open: wide() },
      h('summary', null, h('span', { class: 'tpl-name', text: item.name }), h('span', { class: 'tpl-info', text: `${n} field${n === 1 ? '' : 's'}` })),
      table);
  }

  /** A marker alone on its line: templates become boxes, tables tables. */
  function renderBlockItem(item, ctx) {
    if (!item) return null;
    switch (item.type) {
      case 'template': {
        if (HATNOTES[item.key]) {
          const targets = item.positional.map((p) => p.trim()).filter(Boolean);
          const div = h('div', { class: 'hatnote' }, `${HATNOTES[item.key]}: `);
          targets.forEach((t, k) => {
            if (k) div.append(k === targets.length - 1 ? ' and ' : ', ');
            const title = normalizeTitle(t.split('#')[0] || t);
            div.append(h('a', { href: linkHref(title), class: 'wl', dataset: { title }, text: t }));
          });
          return targets.length ? div : null;
        }
        if (item.key === 'reflist' || item.key === 'references' || item.key === 'refbegin' || item.key === 'notelist') {
          return renderBlockItem({ type: 'refnote' }, ctx);
        }
        if (item.key === 'refend') return null;
        if (/^(infobox|speciesbox|taxobox|automatic taxobox|subspeciesbox|geobox|chembox|drugbox)/.test(item.key) && Object.keys(item.named).length) {
          return infoBox(item, ctx);
        }
        if (/^(quote|quotation|blockquote|cquote|quote box)$/.test(item.key)) {
          const body = item.named.text || item.named.quote || item.positional[0] || '';
          const bq = h('blockquote', { class: 'wiki-quote' });
          renderBlocks(protect(body, ctx, true), bq, ctx);
          const by = item.named.author || item.named.sign || item.positional[1];
          if (by) {
            const cite = h('footer');
            appendRaw(cite, `— ${by}`, ctx);
            bq.append(cite);
          }
          return bq;
        }
        const inline = inlineTemplate(item, ctx);
        if (inline !== undefined) return inline && h('p', null, inline);
        return templateBox(item, ctx);
      }
      case 'table':
        return renderTable(item.src, ctx);
      case 'quote': {
        const bq = h('blockquote', { class: 'wiki-quote' });
        renderBlocks(item.text, bq, ctx);
        return bq;
      }
      default:
        return renderInlineItem(item, ctx, true);
    }
  }

  /** A template rendered in running text; undefined when it has no inline form. */
  function inlineTemplate(item, ctx) {
    const k = item.key;
    const P = item.positional.map((p) => p.trim());
    const inl = (src) => {
      const span = h('span');
      appendRaw(span, src, ctx);
      return span;
    };
    if (item.name.startsWith('#') || HIDDEN_TEMPLATE_RE.test(k) || /^(defaultsort|displaytitle|lc|uc|fullpagename|pagename)$/i.test(k)) return null;
    if (CITATION_NEEDED[k]) return h('sup', { class: 'fix-note', text: `[${CITATION_NEEDED[k]}]` });
    if (k === 'convert' || k === 'cvt') {
      const ranges = new Set(['-', '–', 'to', 'and', 'or', 'by', 'x', '×', 'and(-)', 'to(-)', '+/-', '±']);
      if (P.length >= 4 && ranges.has(P[1])) return inl(`${P[0]} ${P[1]} ${P[2]} ${P[3]}`);
      return inl(P.slice(0, 2).join(' '));
    }
    if (['nowrap', 'nobr', 'small', 'smaller', 'larger', 'big', 'em', 'strong', 'nihongo', 'sic', 'not a typo', 'proper name', 'linktext', 'math', 'mvar', 'var', 'tooltip', 'abbr', 'vr', 'visible anchor'].includes(k)) {
      return P[0] ? inl(P[0]) : null;
    }
    if (k === 'lang' || k === 'transl' || k === 'transliteration') return P.length ? inl(P[P.length - 1]) : null;
    if (LIST_TEMPLATES[k]) {
      // Plainlist and Flatlist wrap a bulleted list; the others take the items as parameters.
      const items = LIST_TEMPLATES[k] === 'wrapped'
        ? (item.named['1'] ?? P[0] ?? '').split('\n').map((l) => l.replace(/^\s*\*+\s*/, '').trim())
        : P;
      const filled = items.filter(Boolean);
      if (!filled.length) return null;
      const flat = /^(flatlist|hlist|flat list)$/.test(k);
      const span = h('span', { class: flat ? 'flatlist' : 'plainlist' });
      filled.forEach((src, n) => {
        if (n) span.append(flat ? ' · ' : h('br'));
        appendRaw(span, src, ctx);
      });
      return span;
    }
    if (/^lang-[a-z-]+$/.test(k) || /^(ipa|iast|ipa-[a-z-]+)$/.test(k)) return P[0] ? inl(P[0]) : null;
    if (k === 'ndash' || k === 'snd' || k === 'spaced ndash') return k === 'ndash' ? '–' : ' – ';
    if (k === 'mdash' || k === 'spaced mdash') return '—';
    if (k === 'nbsp') return '\u00a0';
    if (k === '!') return '|';
    if (k === '=') return '=';
    if (k === 'sfn' || k === 'sfnp' || k === 'efn' || k === 'efn-ua' || k === 'efn-lr' || k === 'refn' || k === 'r' || k === 'rp' || k === 'harvnb' || k === 'harv') return null;
    if (/^cite\b|^citation$/.test(k)) return null;
    if (k === 'circa' || k === 'c.') return inl(`c. ${P[0] || ''}`.trim());
    if (k === 'birth date' || k === 'death date' || k === 'start date' || k === 'end date' || k === 'birth date and age' || k === 'death date and age') {
      const ymd = P.filter((x) => /^\d+$/.test(x)).slice(0, 3);
      if (ymd.length) {
        const [y, m, d] = ymd.map(Number);
        const date = new Date(Date.UTC(y, (m || 1) - 1, d || 1));
        return ymd.length === 3
          ? date.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
          : String(y);
      }
    }
    return undefined;
  }

  function templateChip(item, ctx) {
    return h('span', { class: 'tpl-inline' },
      h('button', { type: 'button', class: 'tpl-chip', 'aria-expanded': 'false', title: 'Show the template source' },
        `{{${item.name || '…'}}}`),
      h('code', { class: 'tpl-src-inline', hidden: true, text: unmark(item.src, ctx) }));
  }

  function renderInlineItem(item, ctx, block) {
    if (!item) return null;
    switch (item.type) {
      case 'text':
        return document.createTextNode(item.text);
      case 'pre':
        return h('pre', { class: 'wikipre', text: item.text });
      case 'math':
        return h('code', { class: 'math', text: item.text });
      case 'refnote':
        return h('p', { class: 'subdued refnote', text: 'References are hidden here; the Raw XML view has them.' });
      case 'gallery': {
        const files = item.text.split('\n').map((l) => l.split('|')[0].trim()).filter(Boolean);
        return h('p', { class: 'media' }, mediaIcon(),
          `${item.tag === 'gallery' ? `Gallery of ${files.length} image${files.length === 1 ? '' : 's'}` : `<${item.tag}> block`}`);
      }
      case 'template': {
        const inline = inlineTemplate(item, ctx);
        if (inline === null) return null;
        if (inline !== undefined) return typeof inline === 'string' ? document.createTextNode(inline) : inline;
        return block ? templateBox(item, ctx) : templateChip(item, ctx);
      }
      case 'table':
        return renderTable(item.src, ctx);
      case 'quote': {
        const q = h('q');
        appendInline(q, item.text.replace(/\s+/g, ' '), ctx);
        return q;
      }
      default:
        return null;
    }
  }

  function renderTable(src, ctx) {
    const lines = src.split('\n');
    const table = h('table', { class: 'wikitable' });
    const tbody = h('tbody');
    let caption = null;
    let tr = null;
    let cell = null;
    let cellLines = [];
    const finishCell = () => {
      if (!cell) return;
      const textLines = cellLines;
      if (textLines.length > 1) renderBlocks(textLines.join('\n'), cell, ctx);
      else appendInline(cell, (textLines[0] || '').trim(), ctx);
      cell = null;
      cellLines = [];
    };
    const addCell = (tag, raw) => {
      finishCell();
      if (!tr) {
        tr = h('tr');
        tbody.append(tr);
      }
      const parts = splitTop(raw, '|');
      let content = raw;
      const el = h(tag);
      if (parts.length > 1 && !parts[0].includes('[[') && /=|^\s*$/.test(parts[0]) && !parts[0].includes(MARK_OPEN)) {
        content = parts.slice(1).join('|');
        const span = (name) => {
          const m = new RegExp(`${name}\\s*=\\s*"?\\s*(\\d{1,3})`, 'i').exec(parts[0]);
          return m ? Math.max(1, Math.min(100, Number(m[1]))) : null;
        };
        if (span('colspan')) el.colSpan = span('colspan');
        if (span('rowspan')) el.rowSpan = span('rowspan');
      }
      tr.append(el);
      cell = el;
      cellLines = [content];
    };
    for (let k = 1; k < lines.length; k++) {
      const t = lines[k].trim();
      if (t.startsWith('|}')) break;
      if (t.startsWith('|+')) {
        finishCell();
        caption = h('caption');
        appendInline(caption, t.slice(2).replace(/^[^|[]*\|(?!\|)/, '').trim(), ctx);
      } else if (t.startsWith('|-')) {
        finishCell();
        tr = null;
      } else if (t.startsWith('!')) {
        for (const c of t.slice(1).split(/!!|\|\|/)) addCell('th', c);
      } else if (t.startsWith('|')) {
        for (const c of t.slice(1).split('||')) addCell('td', c);
      } else if (cell) {
        cellLines.push(lines[k]);
      }
    }
    finishCell();
    if (caption) table.append(caption);
    table.append(tbody);
    return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Table' }, table);
  }

  /**
   * Appends one line of wikitext to `parent`, tracking '' and ''' and
   * inline tags on a stack so bold/italic spans nest properly.
   */
  function appendInline(parent, text, ctx) {
    const stack = [{ el: parent, kind: null }];
    let buf = '';
    const top = () => stack[stack.length - 1].el;
    const flush = () => {
      if (buf) top().append(buf);
      buf = '';
    };
    const emit = (node) => {
      flush();
      if (node != null) top().append(node);
    };
    const open = (kind, tag) => {
      flush();
      const el = h(tag || kind);
      top().append(el);
      stack.push({ el, kind });
    };
    const isOpen = (kind) => stack.some((x) => x.kind === kind);
    const close = (kind) => {
      flush();
      const idx = stack.map((x) => x.kind).lastIndexOf(kind);
      if (idx <= 0) return;
      const reopen = stack.splice(idx).slice(1);
      for (const x of reopen) {
        const el = h(x.el.localName);
        if (x.el.className) el.className = x.el.className;
        top().append(el);
        stack.push({ el, kind: x.kind });
      }
    };
    const toggle = (kind) => (isOpen(kind) ? close(kind) : open(kind));

    let i = 0;
    let last = -1;
    while (i < text.length) {
      if (i <= last) i = last + 1; // always make progress, whatever the input
      last = i;
      const c = text[i];
      if (c === "'" && text[i + 1] === "'") {
        let n = 2;
        while (text[i + n] === "'") n++;
        i += n;
        if (n === 4) { buf += "'"; n = 3; }
        if (n > 5) { buf += "'".repeat(n - 5); n = 5; }
        if (n === 2) toggle('i');
        else if (n === 3) toggle('b');
        else if (isOpen('b') && !isOpen('i')) { toggle('b'); toggle('i'); }
        else if (isOpen('i') && !isOpen('b')) { toggle('i'); toggle('b'); }
        else if (isOpen('i') && isOpen('b')) {
          const bi = stack.map((x) => x.kind).lastIndexOf('b') > stack.map((x) => x.kind).lastIndexOf('i');
          if (bi) { close('b'); close('i'); } else { close('i'); close('b'); }
        } else { open('i'); open('b'); }
        continue;
      }
      if (c === '[' && text[i + 1] === '[') {
        const end = findClose(text, i, '[[', ']]');
        if (end > 0) {
          let j = end + 2;
          const trail = /^[a-z]+/.exec(text.slice(j, j + 40));
          const t = trail ? trail[0] : '';
          j += t.length;
          emit(internalLink(text.slice(i + 2, end), t, ctx));
          i = j;
          continue;
        }
      }
      if (c === '[') {
        EXT_LINK_RE.lastIndex = i;
        const m = EXT_LINK_RE.exec(text);
        const close = m ? extLinkEnd(text, EXT_LINK_RE.lastIndex) : -1;
        const href = close > 0 && safeHref(m[1]);
        if (href) {
          const label = text.slice(i + m[0].length, close).trim();
          const a = h('a', { href, class: 'ext', rel: 'nofollow noopener noreferrer', target: '_blank' });
          if (label) {
            const outer = ctx.inLink;
            ctx.inLink = true; // no links inside a link
            appendInline(a, label, ctx);
            ctx.inLink = outer;
          } else {
            a.append(`[${++ctx.extLinkCount}]`);
          }
          emit(a);
          i = close + 1;
          continue;
        }
      }
      if ((c === 'h' || c === 'f') && !/[\w/]/.test(text[i - 1] || '')) {
        BARE_URL_RE.lastIndex = i;
        const m = BARE_URL_RE.exec(text);
        if (m) {
          let url = m[0];
          const tail = /[.,;:!?)']+$/.exec(url);
          if (tail) url = url.slice(0, -tail[0].length);
          const href = safeHref(url);
          if (href && url.length > 8) {
            emit(h('a', { href, class: 'ext', rel: 'nofollow noopener noreferrer', target: '_blank', text: url }));
            i += url.length;
            continue;
          }
        }
      }
      if (c === MARK_OPEN) {
        MARK_AT_RE.lastIndex = i;
        const m = MARK_AT_RE.exec(text);
        if (m) {
          i = MARK_AT_RE.lastIndex; // before rendering, which recurses into this function
          emit(renderInlineItem(ctx.store[Number(m[1])], ctx, false));
          continue;
        }
      }
      if (c === '<') {
        TAG_RE.lastIndex = i;
        const m = TAG_RE.exec(text);
        if (m) {
          const name = m[2].toLowerCase();
          i = TAG_RE.lastIndex;
          if (name === 'br') emit(h('br'));
          else if (name === 'hr') emit(h('hr'));
          else if (INLINE_TAGS[name]) {
            const kind = `tag:${name}`;
            if (m[1]) close(kind);
            else if (!m[3]) {
              open(kind, INLINE_TAGS[name]);
              if (name === 'big') top().className = 'big';
            }
          }
          // Any other tag (span, div, center, font, …) is dropped; what it wraps stays.
          continue;
        }
      }
      if (c === '&') {
        ENTITY_RE.lastIndex = i;
        const m = ENTITY_RE.exec(text);
        if (m) {
          buf += decodeEntities(m[0]);
          i = ENTITY_RE.lastIndex;
          continue;
        }
      }
      buf += c;
      i++;
    }
    flush();
  }

  function internalLink(inner, trail, ctx) {
    const parts = splitTop(inner, '|');
    let target = parts[0].trim();
    const leadingColon = target.startsWith(':');
    if (leadingColon) target = target.slice(1).trim();
    const colon = target.indexOf(':');
    const prefix = colon > 0 ? target.slice(0, colon).trim() : '';
    const nsKey = prefix.toLowerCase();
    if (!leadingColon && prefix) {
      if (nsKey === 'category') {
        ctx.categories.push(target.slice(colon + 1).trim());
        return null;
      }
      if (nsKey === 'file' || nsKey === 'image' || nsKey === 'media') {
        const name = target.slice(colon + 1).trim();
        const caption = parts.slice(1).filter((p) => !MEDIA_OPTIONS.test(p.trim())).pop();
        const span = h('span', { class: 'media' },
          mediaIcon(),
          h('span', { class: 'media-name', text: name }));
        if (caption && caption.trim()) {
          span.append(h('span', { class: 'media-sep', text: ' — ' }));
          const cap = h('span', { class: 'media-caption' });
          appendInline(cap, caption.trim(), ctx);
          span.append(cap);
        }
        return span;
      }
      // An interlanguage link, unless the prefix is a namespace alias (`wp:`).
      if (!NS_PREFIXES.has(nsKey) && /^[a-z]{2,3}(-[a-z]{2,8})*$/.test(prefix) && parts.length === 1) return null;
    }
    let label = parts.length > 1 ? parts.slice(1).join('|') : (leadingColon ? target : parts[0].trim());
    if (parts.length > 1 && !label.trim()) label = target.replace(/\s*\([^)]*\)\s*$/, '').replace(/^[^:]*:/, '');
    const hash = target.indexOf('#');
    const page = hash >= 0 ? target.slice(0, hash) : target;
    let a;
    if (!page.trim() && hash >= 0) {
      const id = slug(decodeEntities(target.slice(hash + 1)).replace(/_/g, ' '));
      a = h('a', { href: `#${id}`, class: 'anchor-link', dataset: { anchor: id } });
    } else if (ctx.inLink) {
      a = h('span');
    } else {
      const title = normalizeTitle(decodeEntities(page));
      a = h('a', { href: linkHref(title), class: 'wl', dataset: { title }, title });
    }
    appendInline(a, label + trail, ctx);
    return a;
  }

  return { renderWikitext, renderInline };
}
