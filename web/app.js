// wikidex search page: prefix search over the title index, and a reader that
// fetches one page's exact bytes from the dump with a Range request. The
// wikitext renderer is its own module (wikitext.js), tested without a browser.
//
// No build step, no dependencies. Untrusted text (titles, wikitext, server
// messages) only ever reaches the DOM through text nodes and validated
// attributes: nothing here assigns innerHTML.

import { createRenderer, elementBuilder, normalizeTitle, nsName } from './wikitext.js';

const PAGE_SIZE = 50;
const MAX_LIMIT = 10000; // the server's largest `limit`
const DEBOUNCE_MS = 80;
/** Title matching: `fuzzy` (folded, typo-tolerant; the default) or `exact` (case-sensitive prefix). */
const MODES = ['fuzzy', 'exact'];
const DEFAULT_MODE = 'fuzzy';

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

const h = elementBuilder(document);
const { renderWikitext, renderInline } = createRenderer({
  document,
  linkHref: (title) => urlFor({ q: title, page: title }),
  wide: () => window.matchMedia('(min-width: 900px)').matches,
});

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
 * GETs `url` and returns the body (JSON or text) with timings and the
 * answer's `ETag`. Network failures and 4xx/5xx become `ApiError`s carrying
 * the server's message; aborts propagate as `AbortError`. Answers about the
 * dump may come from the browser's cache (they carry a max-age and an
 * ETag); `fresh` revalidates every cache on the way (`no-cache`).
 */
async function request(url, { signal, headers = {}, as = 'json', fresh = false } = {}) {
  const t0 = performance.now();
  let res;
  try {
    const sent = fresh ? { ...headers, 'Cache-Control': 'no-cache' } : headers;
    res = await fetch(url, { signal, headers: sent, cache: fresh ? 'no-cache' : 'default' });
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
  return { body, res, rtt, server, etag: res.headers.get('ETag') };
}

/**
 * `/offsets` for `prefix`, the most linked pages first (`order=rank`), a
 * redirect and its page as one suggestion ranked by the page's score
 * (`redirects=merge`: `NYC` before `NYC Ferry`), unless `rank` is false (an
 * exact title lookup: the title itself sorts first). Exact mode pages with
 * `after=`; fuzzy mode (no `after=`) by asking again with a larger `limit`.
 */
function offsetsUrl(prefix, { limit = PAGE_SIZE, after = null, mode = 'exact', rank = true } = {}) {
  const path = `/offsets/${encodeURIComponent(prefix)}`;
  const order = rank ? '&order=rank&redirects=merge' : '';
  if (mode === 'fuzzy') return `${path}?match=fuzzy&limit=${limit}&fields=ns,redirect${order}`;
  return `${path}?limit=${limit}&fields=ns,redirect${order}${after != null ? `&after=${encodeURIComponent(after)}` : ''}`;
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
/**
 * One row of `/offsets`, as an object, with the `ETag` of the answer it came
 * in: its offsets are only good for the dump that tag names, so the page
 * sends it back as `If-Match` when it fetches those bytes.
 */
function toRow(r, etag = null) {
  if (!Array.isArray(r) || typeof r[0] !== 'string') throw new ApiError('Unexpected answer from /offsets.', 200);
  return { title: r[0], start: Number(r[1]), end: Number(r[2]), ns: r[3] == null ? 0 : Number(r[3]), redirect: r[4] ?? null, etag };
}
const rowSize = (row) => row.end - row.start + 1;
/** The page `row` stands for: its redirect's target (without a `#section`), or itself. */
const pageOf = (row) => (row.redirect == null ? row.title : String(row.redirect).split('#')[0]);

// ------------------------------------------------------------------ state

const state = {
  query: null,        // the prefix the list shows (null: nothing shown)
  mode: null,         // the matching mode of the list shown ('fuzzy' or 'exact')
  limit: PAGE_SIZE,   // fuzzy mode: the `limit` the list was fetched with
  rows: [],
  seen: new Set(),    // titles listed, and the pages they stand for
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
    const { body, rtt, server, etag } = await request(offsetsUrl(q, { mode }), { signal: ctrl.signal });
    if (seq !== searchSeq) return;
    if (!Array.isArray(body)) throw new ApiError('Unexpected answer from /offsets.', 200);
    state.searchTiming = { rtt, server };
    renderTiming();
    showResults(q, mode, body.map((r) => toRow(r, etag)), { append: false, limit: PAGE_SIZE });
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
    const { body, rtt, server, etag } = await request(offsetsUrl(q, opts), { signal: ctrl.signal });
    if (seq !== searchSeq || q !== state.query || mode !== state.mode) return;
    if (!Array.isArray(body)) throw new ApiError('Unexpected answer from /offsets.', 200);
    state.searchTiming = { rtt, server };
    renderTiming();
    showResults(q, mode, body.map((r) => toRow(r, etag)), { append: true, limit: opts.limit ?? PAGE_SIZE });
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
  // Each page once, as in /opensearch: a redirect whose target is listed
  // (in this answer or before it), or that follows another redirect to the
  // same page, is not shown again.
  const listed = new Set(rows.filter((r) => r.redirect == null).map((r) => r.title));
  const frag = document.createDocumentFragment();
  for (const row of rows) {
    const page = pageOf(row);
    if (state.seen.has(row.title) || state.seen.has(page)) continue;
    if (row.redirect != null && listed.has(page)) continue;
    state.seen.add(row.title);
    state.seen.add(page);
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
async function lookupExact(title, signal, fresh = false) {
  const { body, etag } = await request(offsetsUrl(title, { limit: 1, rank: false }), { signal, fresh });
  const row = Array.isArray(body) && body.length ? toRow(body[0], etag) : null;
  return row && row.title === title ? row : null;
}

/**
 * The bytes of `row` from `/xml`, sent with the ETag its offsets came with.
 * A 412 means the server now serves another dump (updated since the row was
 * listed, or another replica): the title is looked up again and fetched at
 * its new offsets, both revalidated through every cache (`no-cache`), so a
 * tab left open across an update keeps working. Behind a balancer during a
 * rolling update the lookup and the fetch can land on replicas on different
 * dumps, so this tries a few times (`FETCH_TRIES`), never forever. Returns
 * the answer and the row it was fetched for (null: the title is gone).
 */
const FETCH_TRIES = 4;
async function fetchPageBytes(title, row, signal) {
  const get = (r, fresh) => request('/xml', {
    signal, as: 'text', fresh,
    headers: { Range: `bytes=${r.start}-${r.end}`, ...(r.etag ? { 'If-Match': r.etag } : {}) },
  });
  for (let tries = 1; ; tries++) {
    try {
      return { answer: await get(row, tries > 1), row };
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 412) throw e;
      if (tries === FETCH_TRIES) {
        throw new ApiError(`${FETCH_TRIES} fetches in a row met a server on another dump than `
          + 'the lookup before it (an update under way?); try again in a moment.', 412);
      }
    }
    row = await lookupExact(title, signal, true);
    if (!row) return { answer: null, row: null };
  }
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
    const fetched = await fetchPageBytes(title, row, ctrl.signal);
    if (seq !== pageSeq) return;
    if (!fetched.answer) {
      showMissing(title);
      return;
    }
    row = fetched.row;
    state.pageRow = row;
    const { body: xml, res, rtt, server } = fetched.answer;
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

const initial = readUrl();
setModeControl(initial.match);
history.replaceState(initial, '', urlFor(initial));
applyUrlState(initial);
if (!initial.q && !initial.page) els.q.focus();
loadStats();
