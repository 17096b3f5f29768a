// wikidex search page: prefix search over the title index, and a reader that
// fetches one page's exact bytes from the dump with a Range request.
//
// No build step, no dependencies. Untrusted text (titles, wikitext, server
// messages) only ever reaches the DOM through text nodes and validated
// attributes: nothing here assigns innerHTML.
'use strict';

(() => {
  const PAGE_SIZE = 50;
  const MAX_LIMIT = 10000; // the server's largest `limit`
  const DEBOUNCE_MS = 80;
  /** Title matching: `fuzzy` (folded, typo-tolerant; the default) or `exact` (case-sensitive prefix). */
  const MODES = ['fuzzy', 'exact'];
  const DEFAULT_MODE = 'fuzzy';

  /** Namespace numbers of English Wikipedia, as named in the dump's siteinfo. */
  const NAMESPACES = {
    '-2': 'Media', '-1': 'Special', 0: 'Article', 1: 'Talk', 2: 'User', 3: 'User talk',
    4: 'Wikipedia', 5: 'Wikipedia talk', 6: 'File', 7: 'File talk', 8: 'MediaWiki',
    9: 'MediaWiki talk', 10: 'Template', 11: 'Template talk', 12: 'Help', 13: 'Help talk',
    14: 'Category', 15: 'Category talk', 100: 'Portal', 101: 'Portal talk', 108: 'Book',
    109: 'Book talk', 118: 'Draft', 119: 'Draft talk', 446: 'Education Program',
    447: 'Education Program talk', 710: 'TimedText', 711: 'TimedText talk', 828: 'Module',
    829: 'Module talk', 2300: 'Gadget', 2301: 'Gadget talk', 2302: 'Gadget definition',
    2303: 'Gadget definition talk',
  };
  const nsName = (ns) => NAMESPACES[ns] || `Namespace ${ns}`;
  /** Lower-cased namespace prefix → its canonical spelling (for link targets). */
  const NS_PREFIXES = new Map(
    Object.entries(NAMESPACES).filter(([k]) => k !== '0').map(([, v]) => [v.toLowerCase(), v]),
  );
  NS_PREFIXES.set('image', 'File');
  NS_PREFIXES.set('wp', 'Wikipedia');
  NS_PREFIXES.set('project', 'Wikipedia');

  // ---------------------------------------------------------------- helpers

  const $ = (id) => document.getElementById(id);
  const els = {
    form: $('search-form'), q: $('q'), status: $('status'), timing: $('timing'),
    results: $('results'), loadMore: $('load-more'), emptyState: $('empty-state'),
    noResults: $('no-results'), errorBox: $('error-box'), stats: $('stats'),
    viewer: $('viewer'), placeholder: $('viewer-placeholder'), pageTitle: $('page-title'),
    pageMeta: $('page-meta'), pageNotice: $('page-notice'), pageBody: $('page-body'),
    raw: $('raw'), rawToggle: $('raw-toggle'), backToResults: $('back-to-results'),
    mode: $('match-mode'),
  };

  /**
   * Creates an element. `attrs` values: `class`, `text` (a text node),
   * `dataset` (an object), event handlers `on*`, and otherwise attributes
   * (skipped when null/false). Children are nodes or strings (text nodes).
   */
  function h(tag, attrs, ...children) {
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
  }

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

  const numberFmt = new Intl.NumberFormat('en-US');
  const fmtNum = (n) => numberFmt.format(n);
  function fmtBytes(n) {
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
    if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
    return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  }
  function fmtMs(ms) {
    if (ms == null || !Number.isFinite(ms)) return '–';
    if (ms < 1) return `${ms.toFixed(2)} ms`;
    if (ms < 100) return `${ms.toFixed(1)} ms`;
    return `${Math.round(ms)} ms`;
  }
  function fmtTimestamp(ts) {
    const d = new Date(ts);
    if (!ts || Number.isNaN(d.getTime())) return ts || '';
    return `${d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' })}, ${
      d.toISOString().slice(11, 16)} UTC`;
  }

  /** The server's own duration from a `Server-Timing` header, in ms. */
  function serverTiming(header) {
    if (!header) return null;
    let first = null;
    for (const metric of header.split(',')) {
      const [name, ...params] = metric.trim().split(';');
      for (const p of params) {
        const m = /^\s*dur\s*=\s*"?([0-9.]+)"?\s*$/.exec(p);
        if (!m) continue;
        const v = parseFloat(m[1]);
        if (name.trim() === 'app') return v;
        if (first == null) first = v;
      }
    }
    return first;
  }

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
    }
  }

  /**
   * GETs `url` and returns the body (JSON or text) with timings. Network
   * failures and 4xx/5xx become `ApiError`s carrying the server's message;
   * aborts propagate as `AbortError`.
   */
  async function request(url, { signal, headers, as = 'json' } = {}) {
    const t0 = performance.now();
    let res;
    try {
      res = await fetch(url, { signal, headers, cache: 'no-store' });
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError("Can't reach the wikidex server. Is it running?", 0);
    }
    const server = serverTiming(res.headers.get('Server-Timing'));
    let body;
    try {
      body = await res.text();
    } catch (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError('The connection to the server broke off mid-answer.', res.status);
    }
    const rtt = performance.now() - t0;
    if (!res.ok) {
      let msg = '';
      try {
        const j = JSON.parse(body);
        if (j && typeof j.error === 'string') msg = j.error;
      } catch { /* not JSON */ }
      if (!msg) msg = body.trim().slice(0, 200) || res.statusText || 'request failed';
      throw new ApiError(`${res.status}: ${msg}`, res.status);
    }
    if (as === 'json') {
      try {
        body = JSON.parse(body);
      } catch {
        throw new ApiError('The server sent something that is not JSON.', res.status);
      }
    }
    return { body, res, rtt, server };
  }

  /**
   * `/offsets` for `prefix`. Exact mode pages with `after=`; fuzzy results
   * are ranked, so fuzzy mode pages by asking again with a larger `limit`.
   */
  function offsetsUrl(prefix, { limit = PAGE_SIZE, after = null, mode = 'exact' } = {}) {
    const path = `/offsets/${encodeURIComponent(prefix)}`;
    if (mode === 'fuzzy') return `${path}?match=fuzzy&limit=${limit}&fields=ns,redirect`;
    return `${path}?limit=${limit}&fields=ns,redirect${after != null ? `&after=${encodeURIComponent(after)}` : ''}`;
  }

  /**
   * Case and accent folding, close to the server's (`indexer/src/fold.rs`):
   * good enough to tell a prefix hit from a typo hit and to highlight it.
   */
  const fold = (s) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/ß/g, 'ss').replace(/ς/g, 'σ');

  /** Length (UTF-16 units) of the start of `title` that folds to `folded`; -1 if none does. */
  function foldedPrefixLength(title, folded) {
    if (!folded) return 0;
    let k = 0;
    for (const ch of title) {
      k += ch.length;
      const f = fold(title.slice(0, k));
      if (f.length >= folded.length) {
        if (!f.startsWith(folded)) return -1;
        while (k < title.length && /\p{M}/u.test(title[k])) k++; // marks belong to their letter
        return k;
      }
    }
    return -1;
  }

  /** One row of `/offsets`, as an object. */
  function toRow(r) {
    if (!Array.isArray(r) || typeof r[0] !== 'string') throw new ApiError('Unexpected answer from /offsets.', 200);
    return { title: r[0], start: Number(r[1]), end: Number(r[2]), ns: r[3] == null ? 0 : Number(r[3]), redirect: r[4] ?? null };
  }
  const rowSize = (row) => row.end - row.start + 1;

  /** A link target as MediaWiki would store it: spaces, first letters upper-cased. */
  function normalizeTitle(t) {
    let s = t.replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
    const upperFirst = (x) => (x ? x[0].toUpperCase() + x.slice(1) : x);
    const colon = s.indexOf(':');
    if (colon > 0) {
      const canon = NS_PREFIXES.get(s.slice(0, colon).trim().toLowerCase());
      if (canon) return `${canon}:${upperFirst(s.slice(colon + 1).trim())}`;
    }
    return upperFirst(s);
  }

  // ------------------------------------------------------------------ state

  const state = {
    query: null,        // the prefix the list shows (null: nothing shown)
    mode: null,         // the matching mode of the list shown ('fuzzy' or 'exact')
    limit: PAGE_SIZE,   // fuzzy mode: the `limit` the list was fetched with
    rows: [],
    seen: new Set(),
    more: false,
    active: -1,
    page: null,         // title of the open page
    pageRow: null,
    searchTiming: null, // {rtt, server}
    pageTiming: null,   // {rtt, server, bytes}
  };
  let searchSeq = 0;
  let searchCtrl = null;
  let moreCtrl = null;
  let pageSeq = 0;
  let pageCtrl = null;
  let debounceTimer = 0;
  let pendingQuery = null;   // the prefix a debounced or in-flight search is for
  let openWhenReady = false; // Enter pressed before results arrived
  let typingEntry = false;   // whether this run of typing already has its own history entry

  // ----------------------------------------------------------------- status

  function setStatus(text, kind = 'info') {
    els.status.textContent = text;
    els.status.dataset.kind = kind;
  }

  function renderTiming() {
    const parts = [];
    const seg = (label, t, extra) => h('span', { class: 'timing-seg' },
      h('span', { class: 'timing-label' }, label), ' ',
      h('strong', { text: fmtMs(t.rtt) }), ' round trip',
      t.server != null ? ' · ' : '', t.server != null ? h('strong', { text: fmtMs(t.server) }) : '',
      t.server != null ? ' server' : '', extra || '');
    if (state.searchTiming) parts.push(seg('lookup', state.searchTiming));
    if (state.pageTiming) parts.push(seg('page', state.pageTiming, ` · ${fmtBytes(state.pageTiming.bytes)}`));
    els.timing.replaceChildren(...parts);
  }

  function showError(message) {
    els.errorBox.replaceChildren(h('strong', { text: 'Lookup failed. ' }), message);
    els.errorBox.hidden = false;
  }

  // ----------------------------------------------------------------- search

  function setBusy(on) {
    els.form.classList.toggle('is-busy', on);
    els.results.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  function scheduleSearch() {
    clearTimeout(debounceTimer);
    pendingQuery = cleanQuery(els.q.value);
    debounceTimer = setTimeout(() => runSearch(pendingQuery), DEBOUNCE_MS);
  }

  const cleanQuery = (v) => v.replace(/^\s+/, '');

  /** Shows the first page of titles for `q`; later calls win over earlier ones. */
  async function runSearch(q) {
    clearTimeout(debounceTimer);
    debounceTimer = 0;
    const seq = ++searchSeq;
    if (searchCtrl) searchCtrl.abort();
    if (moreCtrl) moreCtrl.abort();
    searchCtrl = moreCtrl = null;
    pendingQuery = q;
    if (q === '') {
      pendingQuery = null;
      openWhenReady = false;
      setBusy(false);
      clearResults();
      return;
    }
    const ctrl = new AbortController();
    searchCtrl = ctrl;
    const mode = currentMode();
    setBusy(true);
    els.results.dataset.state = 'loading';
    try {
      const { body, rtt, server } = await request(offsetsUrl(q, { mode }), { signal: ctrl.signal });
      if (seq !== searchSeq) return;
      if (!Array.isArray(body)) throw new ApiError('Unexpected answer from /offsets.', 200);
      state.searchTiming = { rtt, server };
      renderTiming();
      showResults(q, mode, body.map(toRow), { append: false, limit: PAGE_SIZE });
      if (openWhenReady) {
        openWhenReady = false;
        openDefault();
      }
    } catch (e) {
      if (seq !== searchSeq || (e && e.name === 'AbortError')) return;
      openWhenReady = false;
      failResults(q, mode, e);
    } finally {
      if (seq === searchSeq) {
        setBusy(false);
        pendingQuery = null;
        searchCtrl = null;
      }
    }
  }

  async function loadMore() {
    if (!state.more || moreCtrl || state.query == null || !state.rows.length) return;
    const q = state.query;
    const mode = state.mode;
    const seq = searchSeq;
    const ctrl = new AbortController();
    moreCtrl = ctrl;
    // Exact: the next page after the last title. Fuzzy (ranked, no `after=`):
    // the same question with a larger limit, of which only the new tail is added.
    const opts = mode === 'fuzzy'
      ? { mode, limit: Math.min(state.limit + PAGE_SIZE, MAX_LIMIT) }
      : { mode, after: state.rows[state.rows.length - 1].title };
    els.loadMore.disabled = true;
    els.loadMore.textContent = 'Loading…';
    setBusy(true);
    try {
      const { body, rtt, server } = await request(offsetsUrl(q, opts), { signal: ctrl.signal });
      if (seq !== searchSeq || q !== state.query || mode !== state.mode) return;
      if (!Array.isArray(body)) throw new ApiError('Unexpected answer from /offsets.', 200);
      state.searchTiming = { rtt, server };
      renderTiming();
      showResults(q, mode, body.map(toRow), { append: true, limit: opts.limit ?? PAGE_SIZE });
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      if (seq !== searchSeq) return;
      setStatus(`Error: ${e.message}`, 'error');
      showError(e.message);
    } finally {
      if (moreCtrl === ctrl) moreCtrl = null;
      els.loadMore.disabled = false;
      els.loadMore.textContent = 'Load more';
      if (seq === searchSeq) setBusy(false);
    }
  }

  function clearResults() {
    state.query = null;
    state.mode = null;
    state.rows = [];
    state.seen = new Set();
    state.more = false;
    state.active = -1;
    els.results.replaceChildren();
    els.results.dataset.state = 'idle';
    els.results.dataset.query = '';
    delete els.results.dataset.mode;
    els.loadMore.hidden = true;
    els.noResults.hidden = true;
    els.errorBox.hidden = true;
    els.emptyState.hidden = false;
    els.q.setAttribute('aria-expanded', 'false');
    els.q.removeAttribute('aria-activedescendant');
    setStatus('');
    updateTitle();
  }

  function failResults(q, mode, e) {
    state.query = q;
    state.mode = mode;
    state.rows = [];
    state.seen = new Set();
    state.more = false;
    state.active = -1;
    els.results.replaceChildren();
    els.results.dataset.state = 'error';
    els.results.dataset.query = q;
    els.results.dataset.mode = mode;
    els.loadMore.hidden = true;
    els.noResults.hidden = true;
    els.emptyState.hidden = true;
    els.q.setAttribute('aria-expanded', 'false');
    els.q.removeAttribute('aria-activedescendant');
    setStatus(`Error: ${e.message}`, 'error');
    showError(e.message);
  }

  /** The title with the part the query matched marked (all of it, folded, in fuzzy mode). */
  function highlightTitle(title, q, mode) {
    const span = h('span', { class: 'r-title' });
    const n = !q ? 0 : mode === 'fuzzy' ? foldedPrefixLength(title, fold(q)) : title.startsWith(q) ? q.length : 0;
    if (n > 0) span.append(h('mark', { text: title.slice(0, n) }), title.slice(n));
    else span.append(title);
    return span;
  }

  /** A fuzzy hit whose title does not start with the query, even folded: a typo hit. */
  const isTypoHit = (row, q, mode) => mode === 'fuzzy' && !fold(row.title).startsWith(fold(q));

  function resultItem(row, index) {
    const size = rowSize(row);
    const meta = h('span', { class: 'r-meta' },
      h('span', { class: row.ns === 0 ? 'ns ns-article' : 'ns', text: nsName(row.ns) }),
      h('span', { class: 'r-range', title: `bytes ${row.start}-${row.end} of the dump` },
        `${fmtNum(row.start)}–${fmtNum(row.end)}`),
      h('span', { class: 'r-size', text: fmtBytes(size) }));
    const typo = isTypoHit(row, state.query, state.mode);
    const li = h('li', {
      class: typo ? 'result is-typo' : 'result', role: 'option', id: `opt-${index}`, 'aria-selected': 'false',
      dataset: { title: row.title, index: String(index) },
    },
    h('span', { class: 'r-line' }, highlightTitle(row.title, state.query, state.mode),
      typo ? h('span', { class: 'badge badge-typo', title: `Similar spelling: does not start with “${state.query}”` }, 'did you mean?') : null,
      row.redirect != null
        ? h('span', { class: 'badge badge-redirect', title: `Redirect to ${row.redirect}` },
          'redirect ', h('span', { 'aria-hidden': 'true', text: '→' }), ` ${row.redirect}`)
        : null),
    meta);
    if (row.title === state.page) li.classList.add('is-open');
    return li;
  }

  /**
   * Shows `rows` for `q` in `mode`: a fresh list, or appended to the one
   * shown (only titles not yet listed: a fuzzy "load more" answers the
   * whole longer list again). `limit` is what the request asked for.
   */
  function showResults(q, mode, rows, { append, limit }) {
    if (!append) {
      state.rows = [];
      state.seen = new Set();
      state.active = -1;
      els.results.replaceChildren();
      els.results.scrollTop = 0;
    }
    state.query = q;
    state.mode = mode;
    state.limit = limit;
    const frag = document.createDocumentFragment();
    for (const row of rows) {
      if (state.seen.has(row.title)) continue;
      state.seen.add(row.title);
      state.rows.push(row);
      frag.append(resultItem(row, state.rows.length - 1));
    }
    els.results.append(frag);
    state.more = rows.length >= limit && (mode !== 'fuzzy' || limit < MAX_LIMIT);
    const n = state.rows.length;
    els.results.dataset.state = n ? 'done' : 'empty';
    els.results.dataset.query = q;
    els.results.dataset.mode = mode;
    els.loadMore.hidden = !state.more;
    els.errorBox.hidden = true;
    els.emptyState.hidden = true;
    els.q.setAttribute('aria-expanded', n ? 'true' : 'false');
    if (state.active < 0) els.q.removeAttribute('aria-activedescendant');
    const more = state.more ? ' — more below' : '';
    if (!n) {
      showNoResults(q, mode);
      setStatus(mode === 'fuzzy' ? `No titles match “${q}”` : `No titles start with “${q}”`);
    } else if (mode === 'fuzzy') {
      els.noResults.hidden = true;
      const typos = state.rows.reduce((k, r) => k + (isTypoHit(r, q, mode) ? 1 : 0), 0);
      setStatus(`${fmtNum(n)}${state.more ? '+' : ''} ${n === 1 ? 'title matches' : 'titles match'} “${q}”${
        typos ? ` (${fmtNum(typos)} by similar spelling)` : ''}${more}`);
    } else {
      els.noResults.hidden = true;
      const word = n === 1 ? 'title starts' : 'titles start';
      setStatus(`${fmtNum(n)}${state.more ? '+' : ''} ${word} with “${q}”${more}`);
    }
    updateTitle();
  }

  function showNoResults(q, mode) {
    let box;
    if (mode === 'fuzzy') {
      box = [h('strong', { text: 'No titles match ' }), h('q', { text: q }), '.',
        ' Fuzzy matching ignores case and accents and forgives one typo in 4 to 7 characters, two in longer prefixes.'];
    } else {
      box = [h('strong', { text: 'No titles start with ' }), h('q', { text: q }), '.'];
      const cap = q[0].toUpperCase() + q.slice(1);
      if (cap !== q) {
        box.push(' Titles are case-sensitive and begin with a capital: ',
          h('button', { type: 'button', class: 'linklike try-capital', onclick: () => setQuery(cap, true) }, `try “${cap}”`), '.');
      } else {
        box.push(' Exact prefixes match the start of a title character for character, including case and spaces.');
      }
      box.push(' ', h('button', { type: 'button', class: 'linklike try-fuzzy', onclick: () => switchMode('fuzzy') },
        'Search ignoring case and typos'), '.');
    }
    els.noResults.replaceChildren(...box);
    els.noResults.hidden = false;
  }

  function setActive(i) {
    const items = els.results.children;
    if (state.active >= 0 && items[state.active]) {
      items[state.active].setAttribute('aria-selected', 'false');
      items[state.active].classList.remove('is-active');
    }
    state.active = i;
    if (i >= 0 && items[i]) {
      items[i].setAttribute('aria-selected', 'true');
      items[i].classList.add('is-active');
      els.q.setAttribute('aria-activedescendant', items[i].id);
      items[i].scrollIntoView({ block: 'nearest' });
    } else {
      els.q.removeAttribute('aria-activedescendant');
    }
  }

  /** Enter with no row selected: the exact match if listed, else the first. */
  function openDefault() {
    if (!state.rows.length) return;
    const q = cleanQuery(els.q.value);
    const fq = fold(q);
    const row = state.rows.find((r) => r.title === q)
      || (state.mode === 'fuzzy' && state.rows.find((r) => fold(r.title) === fq))
      || state.rows[0];
    openRow(row);
  }

  function openRow(row) {
    navigate({ q: state.query ?? cleanQuery(els.q.value), page: row.title }, true);
    openPage(row.title, row);
  }

  /** Replaces the search box text and searches at once. */
  function setQuery(q, push) {
    els.q.value = q;
    navigate({ q, page: state.page }, push);
    runSearch(cleanQuery(q));
    els.q.focus();
  }

  // ---------------------------------------------------------------- history

  function readUrl() {
    const p = new URLSearchParams(location.search);
    const match = p.get('match');
    return { q: p.get('q') || '', page: p.get('page') || null, match: MODES.includes(match) ? match : DEFAULT_MODE };
  }

  /** The page's URL for a state; `match` defaults to the mode selected now and is left out when default. */
  function urlFor({ q, page, match = currentMode() }) {
    const p = new URLSearchParams();
    if (q) p.set('q', q);
    if (page) p.set('page', page);
    if (match !== DEFAULT_MODE) p.set('match', match);
    const s = p.toString();
    return s ? `/?${s}` : '/';
  }

  function navigate(st, push) {
    const full = { q: st.q, page: st.page, match: st.match || currentMode() };
    const url = urlFor(full);
    const same = url === location.pathname + location.search;
    if (push && !same) history.pushState(full, '', url);
    else history.replaceState(full, '', url);
    if (push) typingEntry = false;
  }

  // ------------------------------------------------------------ match mode

  /** The mode selected in the toggle. */
  function currentMode() {
    const checked = els.mode.querySelector('input[name="match"]:checked');
    return checked && MODES.includes(checked.value) ? checked.value : DEFAULT_MODE;
  }

  /** Sets the toggle (no search). */
  function setModeControl(mode) {
    for (const input of els.mode.querySelectorAll('input[name="match"]')) input.checked = input.value === mode;
    els.mode.dataset.value = mode;
  }

  /** The toggle changed (or a hint asked for `mode`): record it in the URL and search again. */
  function switchMode(mode) {
    if (mode && mode !== currentMode()) setModeControl(mode);
    mode = currentMode();
    els.mode.dataset.value = mode;
    const q = cleanQuery(els.q.value);
    navigate({ q: els.q.value, page: state.page, match: mode }, q !== '');
    if (q !== '') runSearch(q); // always: a search in the other mode may still be in flight
  }

  function updateTitle() {
    if (state.page) document.title = `${state.page} — wikidex`;
    else if (state.query) document.title = `“${state.query}” — wikidex`;
    else document.title = 'wikidex';
  }

  /** Brings the page in line with a URL state (first load and Back/Forward). */
  function applyUrlState(st) {
    els.q.value = st.q;
    setModeControl(st.match);
    const q = cleanQuery(st.q);
    if (q !== (state.query ?? '') || els.results.dataset.state === 'error' || (q && st.match !== state.mode)) runSearch(q);
    if (st.page) {
      if (st.page !== state.page) {
        const row = state.rows.find((r) => r.title === st.page) || null;
        openPage(st.page, row);
      }
    } else if (state.page) {
      closePage();
    }
  }

  // ------------------------------------------------------------------ pages

  function markOpenRow() {
    for (const li of els.results.children) li.classList.toggle('is-open', li.dataset.title === state.page);
  }

  function closePage() {
    pageSeq++;
    if (pageCtrl) pageCtrl.abort();
    pageCtrl = null;
    state.page = null;
    state.pageRow = null;
    els.viewer.hidden = true;
    els.placeholder.hidden = false;
    document.body.classList.remove('has-page');
    markOpenRow();
    updateTitle();
  }

  function setRaw(on) {
    els.rawToggle.setAttribute('aria-pressed', on ? 'true' : 'false');
    els.raw.hidden = !on;
    els.pageBody.hidden = on;
  }

  /** Finds the row of exactly `title` (the first title with that prefix is itself). */
  async function lookupExact(title, signal) {
    const { body } = await request(offsetsUrl(title, { limit: 1 }), { signal });
    const row = Array.isArray(body) && body.length ? toRow(body[0]) : null;
    return row && row.title === title ? row : null;
  }

  /** Shows page `title`, reading its bytes with a Range request. */
  async function openPage(title, row) {
    const seq = ++pageSeq;
    if (pageCtrl) pageCtrl.abort();
    const ctrl = new AbortController();
    pageCtrl = ctrl;
    state.page = title;
    state.pageRow = row;
    markOpenRow();
    updateTitle();
    document.body.classList.add('has-page');
    els.placeholder.hidden = true;
    els.viewer.hidden = false;
    els.viewer.setAttribute('aria-busy', 'true');
    els.viewer.dataset.state = 'loading';
    els.viewer.dataset.title = title;
    els.pageTitle.textContent = title;
    els.pageMeta.replaceChildren(row ? `${nsName(row.ns)} · bytes ${fmtNum(row.start)}–${fmtNum(row.end)}` : 'Looking up…');
    els.pageNotice.replaceChildren();
    els.pageBody.replaceChildren(h('div', { class: 'skeleton', 'aria-hidden': 'true' },
      h('span'), h('span'), h('span'), h('span')));
    els.raw.textContent = '';
    setRaw(false);
    els.rawToggle.disabled = true;
    window.scrollTo({ top: 0 });
    try {
      if (!row) {
        row = await lookupExact(title, ctrl.signal);
        if (seq !== pageSeq) return;
        if (!row) {
          showMissing(title);
          return;
        }
        state.pageRow = row;
      }
      const { body: xml, res, rtt, server } = await request('/xml', {
        signal: ctrl.signal, as: 'text', headers: { Range: `bytes=${row.start}-${row.end}` },
      });
      if (seq !== pageSeq) return;
      if (res.status !== 206) throw new ApiError(`expected 206 Partial Content, got ${res.status}`, res.status);
      state.pageTiming = { rtt, server, bytes: rowSize(row) };
      renderTiming();
      showPage(title, row, xml);
    } catch (e) {
      if (seq !== pageSeq || (e && e.name === 'AbortError')) return;
      els.viewer.dataset.state = 'error';
      els.viewer.removeAttribute('aria-busy');
      els.pageMeta.replaceChildren();
      els.pageBody.replaceChildren();
      els.pageNotice.replaceChildren(h('div', { class: 'notice notice-error', role: 'alert' },
        h('strong', { text: 'Could not read this page. ' }), e.message));
      setStatus(`Error: ${e.message}`, 'error');
    } finally {
      if (pageCtrl === ctrl) pageCtrl = null;
    }
  }

  function showMissing(title) {
    els.viewer.dataset.state = 'missing';
    els.viewer.removeAttribute('aria-busy');
    els.pageMeta.replaceChildren();
    els.pageBody.replaceChildren();
    els.pageNotice.replaceChildren(h('div', { class: 'notice' },
      h('strong', { text: 'Not in this dump. ' }),
      'No page is titled ', h('q', { text: title }), '. The list shows the titles that start with it, if any.'));
    setStatus(`“${title}” is not in this dump`);
  }

  const childText = (el, name) => {
    if (!el) return '';
    for (const c of el.children) if (c.localName === name) return c.textContent;
    return '';
  };
  const child = (el, name) => {
    if (!el) return null;
    for (const c of el.children) if (c.localName === name) return c;
    return null;
  };

  function showPage(title, row, xml) {
    els.raw.textContent = xml;
    els.rawToggle.disabled = false;
    els.viewer.removeAttribute('aria-busy');
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const page = doc.documentElement;
    if (!page || page.localName !== 'page' || doc.getElementsByTagName('parsererror').length) {
      els.viewer.dataset.state = 'error';
      els.pageMeta.replaceChildren(`bytes ${fmtNum(row.start)}–${fmtNum(row.end)}`);
      els.pageNotice.replaceChildren(h('div', { class: 'notice notice-error', role: 'alert' },
        h('strong', { text: 'These bytes are not a well-formed <page>. ' }), 'Showing them raw.'));
      els.pageBody.replaceChildren();
      setRaw(true);
      return;
    }
    const rev = child(page, 'revision');
    const contributor = child(rev, 'contributor');
    const redirectEl = child(page, 'redirect');
    const redirect = redirectEl ? redirectEl.getAttribute('title') : null;
    const pageTitle = childText(page, 'title') || title;
    const ns = Number(childText(page, 'ns') || row.ns || 0);
    const who = childText(contributor, 'username') || childText(contributor, 'ip');
    const ts = childText(rev, 'timestamp');
    const text = childText(rev, 'text');

    const colon = pageTitle.indexOf(':');
    if (ns !== 0 && colon > 0) {
      els.pageTitle.replaceChildren(h('span', { class: 'title-ns', text: pageTitle.slice(0, colon + 1) }), pageTitle.slice(colon + 1));
    } else {
      els.pageTitle.textContent = pageTitle;
    }
    const meta = [
      h('span', { class: 'meta-item' }, nsName(ns)),
      h('span', { class: 'meta-item' }, 'page id ', h('strong', { text: childText(page, 'id') })),
    ];
    if (ts) meta.push(h('span', { class: 'meta-item' }, 'revised ', h('time', { datetime: ts, text: fmtTimestamp(ts) })));
    if (who) meta.push(h('span', { class: 'meta-item' }, 'by ', h('strong', { text: who })));
    meta.push(h('span', { class: 'meta-item' }, `bytes ${fmtNum(row.start)}–${fmtNum(row.end)} (${fmtBytes(rowSize(row))})`));
    els.pageMeta.replaceChildren(...meta);

    const notices = [];
    if (redirect) {
      const target = normalizeTitle(redirect);
      notices.push(h('div', { class: 'redirect-box' },
        h('span', { class: 'redirect-arrow', 'aria-hidden': 'true', text: '↪' }),
        h('span', null, 'Redirect to ',
          h('a', { href: urlFor({ q: target, page: target }), class: 'wl redirect-target', dataset: { title: target }, text: redirect }))));
    }
    const comment = childText(rev, 'comment');
    if (comment && !redirect) {
      notices.push(h('details', { class: 'edit-summary' }, h('summary', { text: 'Last edit summary' }),
        h('p', null, renderInline(comment))));
    }
    els.pageNotice.replaceChildren(...notices);

    let bodyText = text;
    if (redirect) bodyText = bodyText.replace(/^\s*#redirect\s*:?\s*\[\[[^\]]*\]\]/i, '');
    try {
      els.pageBody.replaceChildren(renderWikitext(bodyText));
    } catch (e) {
      console.error(e);
      els.pageBody.replaceChildren(h('div', { class: 'notice notice-error' }, 'The wikitext could not be rendered; here it is as is.'),
        h('pre', { class: 'raw', text: bodyText }));
    }
    if (!bodyText.trim() && !redirect) els.pageBody.replaceChildren(h('p', { class: 'subdued', text: 'This page has no text.' }));
    els.viewer.dataset.state = 'done';
    updateTitle();
  }

  /** Follows a wiki link: searches for the title and opens it if it exists. */
  function followLink(title) {
    els.q.value = title;
    navigate({ q: title, page: title }, true);
    runSearch(title);
    openPage(title, null);
    els.viewer.focus({ preventScroll: true });
  }

  // ------------------------------------------------------- wikitext → DOM

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

  /** Appends raw wikitext (e.g. a template parameter) inline. */
  const appendRaw = (el, raw, ctx) => appendInline(el, protect(raw, ctx, true), ctx);

  const slug = (text) => `h-${text.trim().replace(/\s+/g, '_')}`;

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
        links.push(h('li', null, h('a', { href: urlFor({ q: t, page: t }), class: 'wl', dataset: { title: t }, text: t.slice(9) })));
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
      appendInline(dt, colon[0], ctx);
      top.list.append(dt);
      top.item = dt;
      if (colon.length > 1) {
        const dd = h('dd');
        appendInline(dd, colon.slice(1).join(':'), ctx);
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
      h('details', { open: window.matchMedia('(min-width: 900px)').matches }, h('summary', { text: 'Contents' }), ol));
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
    return h('details', { class: 'tpl-box infobox' },
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
            div.append(h('a', { href: urlFor({ q: title, page: title }), class: 'wl', dataset: { title }, text: t }));
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
      if (/^[a-z]{2,3}(-[a-z]{2,8})*$/.test(prefix) && parts.length === 1) return null; // interlanguage link
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
      a = h('a', { href: urlFor({ q: title, page: title }), class: 'wl', dataset: { title }, title });
    }
    appendInline(a, label + trail, ctx);
    return a;
  }

  // ------------------------------------------------------------------ events

  els.q.addEventListener('input', () => {
    const q = els.q.value;
    const st = { q, page: state.page };
    if (!typingEntry && q && cleanQuery(q) !== (state.query ?? '')) {
      navigate(st, true);
      typingEntry = true;
    } else {
      navigate(st, false);
    }
    if (cleanQuery(q) === '') runSearch('');
    else scheduleSearch();
  });

  els.q.addEventListener('keydown', (e) => {
    if (e.isComposing) return;
    const n = state.rows.length;
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        if (!n) return;
        if (state.active >= n - 1) {
          if (state.more) loadMore();
          return;
        }
        setActive(state.active + 1);
        break;
      case 'ArrowUp':
        e.preventDefault();
        if (n) setActive(Math.max(-1, state.active - 1));
        break;
      case 'PageDown':
        if (!n) return;
        e.preventDefault();
        setActive(Math.min(n - 1, state.active + 10));
        break;
      case 'PageUp':
        if (!n) return;
        e.preventDefault();
        setActive(Math.max(0, state.active - 10));
        break;
      case 'Enter': {
        e.preventDefault();
        const q = cleanQuery(els.q.value);
        if (!q) return;
        if (debounceTimer || pendingQuery !== null || q !== state.query || currentMode() !== state.mode) {
          openWhenReady = true;
          if (debounceTimer || q !== pendingQuery) runSearch(q);
          return;
        }
        if (state.active >= 0 && state.rows[state.active]) openRow(state.rows[state.active]);
        else openDefault();
        break;
      }
      case 'Escape':
        e.preventDefault();
        if (els.q.value || state.query != null) {
          els.q.value = '';
          navigate({ q: '', page: state.page }, false);
          runSearch('');
        } else if (state.page) {
          els.q.blur();
        }
        break;
      default:
    }
  });

  els.form.addEventListener('submit', (e) => e.preventDefault());

  els.results.addEventListener('mousedown', (e) => {
    if (e.target.closest('li.result')) e.preventDefault(); // keep focus in the search box
  });
  els.results.addEventListener('click', (e) => {
    const li = e.target.closest('li.result');
    if (!li) return;
    const row = state.rows[Number(li.dataset.index)];
    if (!row) return;
    setActive(Number(li.dataset.index));
    openRow(row);
  });

  els.loadMore.addEventListener('click', () => loadMore());

  els.mode.addEventListener('change', (e) => {
    if (e.target.name === 'match') switchMode();
  });

  els.rawToggle.addEventListener('click', () => setRaw(els.rawToggle.getAttribute('aria-pressed') !== 'true'));

  els.backToResults.addEventListener('click', () => {
    navigate({ q: els.q.value, page: null }, true);
    closePage();
    els.q.focus();
  });

  els.viewer.addEventListener('click', (e) => {
    const chip = e.target.closest('.tpl-chip');
    if (chip) {
      const src = chip.nextElementSibling;
      const open = chip.getAttribute('aria-expanded') !== 'true';
      chip.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (src) src.hidden = !open;
      return;
    }
    const a = e.target.closest('a');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if (a.classList.contains('anchor-link')) {
      e.preventDefault();
      const target = document.getElementById(a.dataset.anchor);
      if (target) target.scrollIntoView({ behavior: 'smooth', block: 'start' });
      return;
    }
    if (a.classList.contains('wl') && a.dataset.title) {
      e.preventDefault();
      followLink(a.dataset.title);
    }
  });

  document.addEventListener('keydown', (e) => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typesText = t && (t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName)
      || (t.tagName === 'INPUT' && !['radio', 'checkbox', 'button', 'submit', 'reset'].includes(t.type)));
    if (typesText) return;
    e.preventDefault();
    els.q.focus();
    els.q.select();
  });

  window.addEventListener('popstate', () => {
    typingEntry = false;
    applyUrlState(readUrl());
  });

  async function loadStats() {
    try {
      const { body } = await request('/stats');
      const idx = body && body.index;
      if (!idx) return;
      const items = [];
      const add = (label, value) => items.push(h('li', null, h('strong', { text: value }), ` ${label}`));
      if (Number.isFinite(idx.titles ?? idx.pages)) add('titles', fmtNum(idx.titles ?? idx.pages));
      if (Number.isFinite(idx.redirects)) add('redirects', fmtNum(idx.redirects));
      if (Number.isFinite(idx.dump_bytes)) add('dump', fmtBytes(idx.dump_bytes));
      if (Number.isFinite(idx.index_bytes)) add('index', fmtBytes(idx.index_bytes));
      if (!items.length) return;
      els.stats.replaceChildren(...items);
      els.stats.hidden = false;
    } catch { /* the stats are decoration */ }
  }

  // ------------------------------------------------------------------- start

  // For tests and the console: the renderer on its own.
  window.wikidex = Object.freeze({ renderWikitext, normalizeTitle });

  const initial = readUrl();
  setModeControl(initial.match);
  history.replaceState(initial, '', urlFor(initial));
  applyUrlState(initial);
  if (!initial.q && !initial.page) els.q.focus();
  loadStats();
})();
