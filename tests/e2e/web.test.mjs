// Browser tests for the wikidex search page (web/), run against a live server.
//
//   WIKIDEX_URL=http://127.0.0.1:18090 node --test tests/e2e/web.test.mjs
//
// Environment:
//   WIKIDEX_URL       base URL of a running `wikidex serve` (required)
//   WIKIDEX_EXPECT    optional JSON file with what to expect, written by the Rust harness:
//                       {"prefix": "Ana",
//                        "titles": ["Analysis of Variance", …the first results, in order…],
//                        "open": {"title": "Anarchism", "start": 3581, "end": 193620,
//                                 "text_snippet": "a few words of plain prose from the page"}}
//                     `titles` lists the first results for `prefix` in the page's default
//                     mode, fuzzy matching: `/offsets/{prefix}?match=fuzzy&limit=50` (up to
//                     50, the page's batch); `open` is a non-redirect page with its inclusive
//                     byte range. Without the file the test derives the same from the
//                     server's API. Exact-mode expectations always come from the API.
//   WIKIDEX_SHOT_DIR  where screenshots go (default: target/e2e-screenshots in the repo)
//   WIKIDEX_CHROMIUM  the browser binary (default /usr/bin/chromium)
//
// Drives the system Chromium through playwright-core; never downloads a browser.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.WIKIDEX_URL || '').replace(/\/+$/, '');
const SHOT_DIR = path.resolve(HERE, process.env.WIKIDEX_SHOT_DIR || '../../target/e2e-screenshots');
const CHROMIUM = process.env.WIKIDEX_CHROMIUM || '/usr/bin/chromium';
const PAGE_SIZE = 50;
const MAX_LIMIT = 10000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };
// How long a step may take: generous, because the server under test is a
// debug build and CI machines can be busy; a step that never happens still fails.
const WAIT = 30_000;

if (!BASE) throw new Error('WIKIDEX_URL is required: the base URL of a running `wikidex serve`, e.g. http://127.0.0.1:18090');

// ------------------------------------------------------------------ API helpers (from node)

async function apiJson(p) {
  const res = await fetch(BASE + p);
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${p}: ${res.status} ${body}`);
  return JSON.parse(body);
}

/**
 * The `/offsets` request the page makes for `prefix` in a matching mode, the
 * most linked first, a redirect ranked by its page (`order=rank&redirects=merge`):
 * fuzzy (the page's default) pages by asking for a larger `limit`, exact by
 * `after=`.
 */
function offsetsPath(prefix, { limit = PAGE_SIZE, after, match = 'fuzzy', rank = true } = {}) {
  const p = `/offsets/${encodeURIComponent(prefix)}`;
  const order = rank ? '&order=rank&redirects=merge' : '';
  if (match === 'fuzzy') {
    assert.equal(after, undefined, 'fuzzy results page by limit, not after=');
    return `${p}?match=fuzzy&limit=${limit}&fields=ns,redirect${order}`;
  }
  assert.equal(match, 'exact');
  return `${p}?limit=${limit}&fields=ns,redirect${order}${after != null ? `&after=${encodeURIComponent(after)}` : ''}`;
}

/** The page's folding, for telling prefix hits from typo hits. */
const fold = (s) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().replace(/ß/g, 'ss').replace(/ς/g, 'σ');

async function offsets(prefix, opts) {
  return (await apiJson(offsetsPath(prefix, opts))).map(([title, start, end, ns, redirect]) => ({ title, start, end, ns, redirect }));
}

/**
 * The titles the page lists for these successive `/offsets` answers (rows
 * as `offsets` gives them): each page once. A redirect is left out when its
 * target is a row of the same answer, or when a title listed before already
 * stands for the same page (is it, or redirects to it).
 */
function onePerPage(...answers) {
  const shown = [];
  const seen = new Set();
  for (const rows of answers) {
    const pages = new Set(rows.filter((r) => r.redirect == null).map((r) => r.title));
    for (const r of rows) {
      const page = r.redirect == null ? r.title : r.redirect.split('#')[0];
      if (seen.has(r.title) || seen.has(page) || (r.redirect != null && pages.has(page))) continue;
      seen.add(r.title).add(page);
      shown.push(r.title);
    }
  }
  return shown;
}

async function fragment(start, end) {
  const res = await fetch(`${BASE}/xml`, { headers: { Range: `bytes=${start}-${end}` } });
  assert.equal(res.status, 206, `GET /xml bytes=${start}-${end}`);
  return res.text();
}

function decodeXml(s) {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** A few words of plain prose from a page's wikitext (which the renderer must show as is). */
function proseSnippet(xml) {
  const m = /<text[^>]*>([\s\S]*?)<\/text>/.exec(xml);
  if (!m) return null;
  const text = decodeXml(m[1])
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/<ref[^>]*\/>/g, '')
    .replace(/<ref[\s\S]*?<\/ref>/g, '');
  let depth = 0;
  for (const line of text.split('\n')) {
    const before = depth;
    depth += (line.match(/\{\{/g) || []).length - (line.match(/\}\}/g) || []).length;
    if (before > 0 || depth > 0) continue; // inside a template
    const t = line.trim();
    if (t.length < 40 || !/^[A-Za-z]/.test(t)) continue;
    if (/[[\]{}<>|=*#:;&_~\\]|''|https?:/.test(t)) continue;
    const words = t.split(/\s+/).slice(0, 6);
    if (words.length >= 4) return words.join(' ');
  }
  return null;
}

/** What to expect: from WIKIDEX_EXPECT, or derived from the API so the test runs standalone. */
async function loadExpect() {
  let expect = null;
  if (process.env.WIKIDEX_EXPECT) {
    expect = JSON.parse(fs.readFileSync(process.env.WIKIDEX_EXPECT, 'utf8'));
    assert.equal(typeof expect.prefix, 'string', 'WIKIDEX_EXPECT: prefix must be a string');
    assert.ok(Array.isArray(expect.titles) && expect.titles.length, 'WIKIDEX_EXPECT: titles must be a non-empty array');
    assert.ok(expect.titles.length <= PAGE_SIZE, `WIKIDEX_EXPECT: at most ${PAGE_SIZE} titles (one batch)`);
  }
  // A prefix with more than one batch of titles for "load more" in each mode; and a default prefix.
  let busiest = null;
  let morePrefix = null;
  let exactMorePrefix = null;
  if (expect && (await offsets(expect.prefix, { limit: PAGE_SIZE + 1 })).length > PAGE_SIZE) morePrefix = expect.prefix;
  if (expect && (await offsets(expect.prefix, { limit: PAGE_SIZE + 1, match: 'exact' })).length > PAGE_SIZE) exactMorePrefix = expect.prefix;
  for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789') {
    if (expect && morePrefix && exactMorePrefix) break;
    const rows = await offsets(ch, { limit: PAGE_SIZE + 1 });
    if (!busiest || rows.length > busiest.rows.length) busiest = { prefix: ch, rows };
    if (!morePrefix && rows.length > PAGE_SIZE) morePrefix = ch;
    if (!exactMorePrefix && (await offsets(ch, { limit: PAGE_SIZE + 1, match: 'exact' })).length > PAGE_SIZE) exactMorePrefix = ch;
    if (!expect && busiest.rows.length > PAGE_SIZE && morePrefix && exactMorePrefix) break;
  }
  if (!expect) {
    assert.ok(busiest && busiest.rows.length >= 2, 'the served dump needs at least two titles sharing a first character');
    // The two-character prefix shared by most of the busiest letter's titles.
    const groups = new Map();
    for (const r of busiest.rows) {
      const p2 = [...r.title].slice(0, 2).join('');
      if (p2.length === 2) groups.set(p2, (groups.get(p2) || 0) + 1);
    }
    const [p2, n] = [...groups].sort((a, b) => b[1] - a[1])[0] || ['', 0];
    const prefix = n >= 3 ? p2 : busiest.prefix;
    expect = { prefix, titles: onePerPage(await offsets(prefix)) };
  }
  if (!expect.open) {
    const rows = await offsets(expect.prefix);
    const row = rows.find((r) => r.redirect == null && r.ns === 0 && r.end - r.start > 2000) || rows.find((r) => r.redirect == null) || rows[0];
    const xml = await fragment(row.start, row.end);
    expect.open = { title: row.title, start: row.start, end: row.end, text_snippet: proseSnippet(xml) || row.title };
  }
  expect.morePrefix = morePrefix;
  expect.exactMorePrefix = exactMorePrefix;
  return expect;
}

// ------------------------------------------------------------------ browser helpers

let browser;
let EXPECT;

before(async () => {
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  const health = await fetch(`${BASE}/healthz`).catch((e) => {
    throw new Error(`no wikidex server at ${BASE}: ${e.message}`);
  });
  assert.ok(health.ok, `GET /healthz: ${health.status}`);
  EXPECT = await loadExpect();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
});

/** Runs `fn` with a fresh page in a fresh context; fails on any uncaught page error. */
async function withPage({ viewport = DESKTOP, colorScheme = 'light' } = {}, fn) {
  const context = await browser.newContext({ viewport, colorScheme, baseURL: BASE });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await fn(page);
  } finally {
    await context.close();
  }
  assert.deepEqual(errors, [], 'uncaught errors in the page');
}

const attr = (s) => JSON.stringify(s); // CSS attribute value
const norm = (s) => s.replace(/\s+/g, ' ').trim();

/** Waits until the list shows the answer for `q` in matching mode `mode`. */
async function waitResults(page, q, mode = 'fuzzy') {
  await page.waitForFunction(([q, mode]) => {
    const r = document.getElementById('results');
    return r.dataset.query === q && r.dataset.mode === mode && ['done', 'empty', 'error'].includes(r.dataset.state);
  }, [q, mode]);
}

async function search(page, q, mode = 'fuzzy') {
  await page.fill('#q', q);
  await waitResults(page, q, mode);
}

const modeRadio = (mode) => `#match-mode input[name="match"][value="${mode}"]`;
const checkedMode = (page) => page.$eval('#match-mode input[name="match"]:checked', (e) => e.value);

/** Records the URL of every request the page makes to /offsets. */
function recordOffsets(page) {
  const urls = [];
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.pathname.startsWith('/offsets/')) urls.push(u);
  });
  return urls;
}

const listed = (page) => page.$$eval('#results li.result', (els) => els.map((e) => e.dataset.title));

async function waitOpen(page, title) {
  await page.waitForFunction((t) => {
    const v = document.getElementById('viewer');
    return !v.hidden && v.dataset.state === 'done' && document.getElementById('page-title').textContent === t;
  }, title);
}

const urlState = (page) => {
  const u = new URL(page.url());
  return { q: u.searchParams.get('q'), page: u.searchParams.get('page') };
};
const urlMatch = (page) => new URL(page.url()).searchParams.get('match');

/**
 * Records the Range header of every request the page makes to /xml; `await
 * sent()` gives them all. (Reading a request's headers is asynchronous, so
 * the page can finish opening before the last one is read: the list is of
 * promises, settled when asked for.)
 */
function recordXmlRanges(page) {
  const ranges = [];
  page.on('request', (req) => {
    if (new URL(req.url()).pathname !== '/xml') return;
    ranges.push(req.allHeaders().then((headers) => headers.range));
  });
  return { sent: () => Promise.all(ranges) };
}

/**
 * Records the path and headers of every `/xml` and `/offsets/…` request the
 * page makes, as promises (see `recordXmlRanges`): `await Promise.all(sent)`.
 */
function recordHeaders(page) {
  const sent = [];
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.pathname === '/xml' || u.pathname.startsWith('/offsets/')) sent.push(req.allHeaders().then((h) => ({ path: u.pathname, h })));
  });
  return sent;
}

// ------------------------------------------------------------------ tests

test('before typing: the empty state, a labelled combobox and a live status', async (t) => {
  t.diagnostic(`expecting ${process.env.WIKIDEX_EXPECT ? `from ${process.env.WIKIDEX_EXPECT}` : 'what the API says'}: prefix ${
    JSON.stringify(EXPECT.prefix)} (${EXPECT.titles.length} titles), open ${JSON.stringify(EXPECT.open)}, load more with ${
    JSON.stringify(EXPECT.morePrefix)} (fuzzy), ${JSON.stringify(EXPECT.exactMorePrefix)} (exact)`);
  await withPage({}, async (page) => {
    await page.goto('/');
    assert.ok(await page.isVisible('#empty-state'));
    assert.equal(await page.locator('#results li').count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'q');
    assert.equal(await page.getAttribute('label[for="q"]', 'for'), 'q');
    assert.equal(await page.getAttribute('#q', 'role'), 'combobox');
    assert.equal(await page.getAttribute('#q', 'aria-controls'), 'results');
    assert.equal(await page.getAttribute('#results', 'role'), 'listbox');
    assert.equal(await page.getAttribute('#status', 'aria-live'), 'polite');
    assert.ok(await page.locator('link[rel="search"][type="application/opensearchdescription+xml"]').count());
    assert.ok(await page.isHidden('#viewer'));
  });
});

test('typing a prefix lists exactly the expected titles, in order, with ranges, namespaces and redirects', async () => {
  const { prefix, titles } = EXPECT;
  const rows = await offsets(prefix);
  await withPage({}, async (page) => {
    await page.goto('/');
    await page.locator('#q').pressSequentially(prefix, { delay: 25 });
    await waitResults(page, prefix);
    const shown = await listed(page);
    assert.ok(shown.length <= PAGE_SIZE, `at most ${PAGE_SIZE} titles in a batch, got ${shown.length}`);
    assert.deepEqual(shown.slice(0, titles.length), titles);
    assert.match(await page.textContent('#status'), new RegExp(`${shown.length}\\+? titles? match(es)? “`));
    assert.equal(await page.getAttribute('#q', 'aria-expanded'), 'true');
    for (const row of rows.filter((r) => shown.includes(r.title)).slice(0, 12)) {
      const li = page.locator(`#results li.result[data-title=${attr(row.title)}]`);
      assert.equal(await li.getAttribute('role'), 'option');
      const text = norm(await li.innerText());
      const size = row.end - row.start + 1;
      assert.ok(text.includes(row.start.toLocaleString('en-US')) && text.includes(row.end.toLocaleString('en-US')), `${row.title}: byte range in ${text}`);
      assert.match(text, size < 1024 ? new RegExp(`${size} B`) : /[\d.]+ (KiB|MiB)/);
      assert.ok(text.includes(row.ns === 0 ? 'Article' : row.title.split(':')[0]), `${row.title}: namespace named in ${text}`);
      if (row.redirect != null) assert.ok(text.includes(`redirect → ${row.redirect}`), `${row.title}: redirect badge in ${text}`);
      else assert.ok(!text.includes('redirect'), `${row.title}: no redirect badge`);
    }
    const u = urlState(page);
    assert.equal(u.q, prefix, 'the URL carries the search');
  });
});

test('clicking a title opens it with a Range request for exactly its bytes', async () => {
  const { open } = EXPECT;
  await withPage({}, async (page) => {
    const ranges = recordXmlRanges(page);
    await page.goto('/');
    await search(page, open.title);
    await page.click(`#results li.result[data-title=${attr(open.title)}]`);
    await waitOpen(page, open.title);
    const sent = await ranges.sent();
    assert.ok(sent.includes(`bytes=${open.start}-${open.end}`), `Range headers sent: ${JSON.stringify(sent)}`);
    const body = norm(await page.innerText('#page-body'));
    assert.ok(body.includes(norm(open.text_snippet)), `the page shows "${open.text_snippet}"`);
    const meta = await page.innerText('#page-meta');
    assert.match(meta, /page id \d+/);
    assert.match(meta, /revised \d/);
    assert.equal(urlState(page).page, open.title);
    assert.ok(await page.$eval(`#results li.result[data-title=${attr(open.title)}]`, (li) => li.classList.contains('is-open')), 'the open title is marked in the list');
    assert.match(await page.title(), new RegExp(open.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });
});

test('a page fetch names the dump its offsets came from; on 412 it looks the title up again, revalidated', async () => {
  const { open } = EXPECT;
  const tag = (await fetch(BASE + offsetsPath(open.title))).headers.get('etag');
  assert.ok(tag, '/offsets carries an ETag');
  await withPage({}, async (page) => {
    const sent = recordHeaders(page);
    // The first two ranged fetches meet servers that have moved to another
    // dump (a rolling update behind a balancer).
    let refused = 0;
    await page.route('**/xml', async (route) => {
      if (refused++ < 2) {
        await route.fulfill({ status: 412, contentType: 'application/json', body: JSON.stringify({ error: 'If-Match names another dump' }) });
      } else {
        await route.continue();
      }
    });
    await page.goto('/');
    await search(page, open.title);
    await page.click(`#results li.result[data-title=${attr(open.title)}]`);
    await waitOpen(page, open.title);
    const body = norm(await page.innerText('#page-body'));
    assert.ok(body.includes(norm(open.text_snippet)), 'the page shows after the retries');
    const requests = await Promise.all(sent);
    const xml = requests.filter((r) => r.path === '/xml');
    assert.equal(xml.length, 3, 'fetched, refused twice, fetched again');
    assert.equal(xml[0].h['if-match'], tag, 'the first fetch names the tag its offsets came with');
    for (const retry of xml.slice(1)) {
      assert.equal(retry.h['if-match'], tag, 'a retry names the tag of the fresh lookup');
      assert.equal(retry.h['cache-control'], 'no-cache', 'a retry revalidates every cache');
    }
    const lookups = requests.filter((r) => r.path.startsWith('/offsets/'));
    assert.equal(lookups[lookups.length - 1].h['cache-control'], 'no-cache', 'so does the lookup again');
  });
});

test('a page fetch that keeps meeting another dump gives up with a clear error, not a loop', async () => {
  const { open } = EXPECT;
  await withPage({}, async (page) => {
    const sent = recordHeaders(page);
    await page.route('**/xml', (route) => route.fulfill({
      status: 412, contentType: 'application/json', body: JSON.stringify({ error: 'If-Match names another dump' }),
    }));
    await page.goto('/');
    await search(page, open.title);
    await page.click(`#results li.result[data-title=${attr(open.title)}]`);
    await page.waitForFunction(() => document.getElementById('viewer').dataset.state === 'error');
    const notice = await page.innerText('#page-notice');
    assert.match(notice, /another dump/, notice);
    assert.match(notice, /try again/, notice);
    const xml = (await Promise.all(sent)).filter((r) => r.path === '/xml');
    assert.equal(xml.length, 4, 'four tries, then the error');
  });
});

test('each page is listed once: redirects to a listed page, or to one already stood for, are not shown', async () => {
  // [title, start, end, ns, redirect]: targets rank first, redirects (score 0) after.
  const rows = [
    ['New York City', 100, 199, 0, null],
    ['New York', 200, 299, 0, null],
    ['NYC', 10, 19, 0, 'New York City'],
    ['NY', 20, 29, 0, 'New York#Name'],
    ['Nyc (city)', 30, 39, 0, 'Gotham'],
    ['Nyc city', 40, 49, 0, 'Gotham#History'],
  ];
  await withPage({}, async (page) => {
    await page.goto('/');
    await page.route('**/offsets/**', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(rows) }));
    await search(page, 'N');
    assert.deepEqual(await listed(page), ['New York City', 'New York', 'Nyc (city)']);
  });
});

test('Enter opens the exact title, even when pressed before the results arrive', async () => {
  const { open } = EXPECT;
  await withPage({}, async (page) => {
    const ranges = recordXmlRanges(page);
    await page.goto('/');
    await page.fill('#q', open.title);
    await page.press('#q', 'Enter');
    await waitOpen(page, open.title);
    const sent = await ranges.sent();
    assert.ok(sent.includes(`bytes=${open.start}-${open.end}`), `Range headers sent: ${JSON.stringify(sent)}`);
    assert.ok(norm(await page.innerText('#page-body')).includes(norm(open.text_snippet)));
  });
});

test('keyboard: ArrowDown twice and Enter opens the second title; Esc clears', async (t) => {
  const { prefix, titles } = EXPECT;
  if (titles.length < 2) return t.skip('the expected prefix has a single title');
  await withPage({}, async (page) => {
    await page.goto('/');
    await search(page, prefix);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const active = await page.getAttribute('#q', 'aria-activedescendant');
    assert.ok(active, 'aria-activedescendant is set');
    assert.equal(await page.getAttribute(`#${active}`, 'data-title'), titles[1]);
    assert.equal(await page.getAttribute(`#${active}`, 'aria-selected'), 'true');
    await page.keyboard.press('Enter');
    await waitOpen(page, titles[1]);
    assert.equal(urlState(page).page, titles[1]);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'q', 'focus stays in the search box');
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => document.getElementById('results').dataset.state === 'idle');
    assert.equal(await page.inputValue('#q'), '');
    assert.equal(await page.locator('#results li').count(), 0);
    assert.ok(await page.isVisible('#empty-state'));
    assert.equal(urlState(page).q, null);
  });
});

test('a shared URL restores the search and the open page; Back and Forward work', async () => {
  const { prefix, titles, open } = EXPECT;
  await withPage({}, async (page) => {
    await page.goto(`/?q=${encodeURIComponent(prefix)}&page=${encodeURIComponent(open.title)}`);
    await waitResults(page, prefix);
    await waitOpen(page, open.title);
    assert.equal(await page.inputValue('#q'), prefix);
    assert.deepEqual((await listed(page)).slice(0, titles.length), titles);
    assert.ok(norm(await page.innerText('#page-body')).includes(norm(open.text_snippet)));

    const other = titles.find((x) => x !== open.title);
    await page.click(`#results li.result[data-title=${attr(other)}]`);
    await waitOpen(page, other);
    assert.deepEqual(urlState(page), { q: prefix, page: other });

    await page.goBack();
    await waitOpen(page, open.title);
    assert.deepEqual(urlState(page), { q: prefix, page: open.title });
    assert.equal(await page.inputValue('#q'), prefix);

    await page.goForward();
    await waitOpen(page, other);

    // A new search gets its own history entry: Back returns to the previous one.
    const next = titles.find((x) => x !== prefix) || `${prefix}${prefix}`;
    await search(page, next);
    assert.equal(urlState(page).q, next);
    await page.goBack();
    await waitResults(page, prefix);
    assert.equal(await page.inputValue('#q'), prefix);
    assert.deepEqual(urlState(page), { q: prefix, page: other });
  });
});

test('exact mode: load more appends the titles after the last one shown (after=), without duplicates', async (t) => {
  const prefix = EXPECT.exactMorePrefix;
  if (!prefix) return t.skip(`no prefix has more than ${PAGE_SIZE} exact titles in this dump`);
  const first = await offsets(prefix, { match: 'exact' });
  const second = await offsets(prefix, { after: first[first.length - 1].title, match: 'exact' });
  await withPage({}, async (page) => {
    const requests = recordOffsets(page);
    await page.goto('/?match=exact');
    await search(page, prefix, 'exact');
    assert.deepEqual(await listed(page), onePerPage(first));
    assert.ok(await page.isVisible('#load-more'));
    await page.click('#load-more');
    await page.waitForFunction((n) => document.querySelectorAll('#results li.result').length > n, PAGE_SIZE);
    const shown = await listed(page);
    assert.deepEqual(shown, onePerPage(first, second));
    assert.equal(new Set(shown).size, shown.length, 'no duplicates');
    assert.equal(await page.isVisible('#load-more'), second.length === PAGE_SIZE);
    const last = requests[requests.length - 1];
    assert.equal(last.searchParams.get('after'), first[first.length - 1].title, `load more asked ${last}`);
    assert.equal(last.searchParams.get('match'), null);
    const ids = await page.$$eval('#results li.result', (els) => els.map((e) => e.id));
    assert.equal(new Set(ids).size, ids.length, 'option ids stay unique');
  });
});

// ------------------------------------------------------------------ matching modes

/**
 * A title to misspell: Anarchism when the dump has it (the issue's example),
 * else the page the other tests open; with its lower-case spelling, a typo
 * (two neighbouring letters swapped) and a short exact prefix.
 */
let demoCache = null;
async function demo() {
  if (demoCache) return demoCache;
  let title = 'Anarchism';
  const hit = (await offsets(title, { limit: 1, match: 'exact' }))[0];
  if (!hit || hit.title !== title) title = EXPECT.open.title;
  const chars = [...title];
  let typo = null;
  for (let i = 2; i + 1 < Math.min(chars.length, 12); i++) {
    const [a, b] = [chars[i], chars[i + 1]];
    if (/\p{L}/u.test(a) && /\p{L}/u.test(b) && fold(a) !== fold(b)) {
      const c = [...chars];
      [c[i], c[i + 1]] = [b, a];
      typo = c.join('');
      break;
    }
  }
  const lower = title.toLowerCase();
  demoCache = { title, lower, typo, short: chars.slice(0, Math.min(6, chars.length)).join('') };
  return demoCache;
}

test('default mode is fuzzy: lower case and a typo both find the title; typo hits are marked', async (t) => {
  const { title, lower, typo } = await demo();
  if (lower === title && !typo) return t.skip(`nothing to fold or misspell in ${JSON.stringify(title)}`);
  const expectLower = onePerPage(await offsets(lower));
  assert.ok(expectLower.includes(title), `the API's fuzzy answer for ${lower} lists ${title}`);
  await withPage({}, async (page) => {
    const requests = recordOffsets(page);
    await page.goto('/');
    // The toggle: a labelled group of two radios, fuzzy selected, nothing in the URL.
    const group = page.getByRole('group', { name: 'Title matching' });
    assert.ok(await group.isVisible());
    assert.equal(await group.getAttribute('id'), 'match-mode');
    assert.ok(await page.getByRole('radio', { name: 'Fuzzy' }).isChecked());
    assert.ok(!(await page.getByRole('radio', { name: 'Exact' }).isChecked()));
    assert.equal(await checkedMode(page), 'fuzzy');
    assert.equal(urlMatch(page), null);

    await page.locator('#q').pressSequentially(lower, { delay: 20 });
    await waitResults(page, lower);
    assert.deepEqual(await listed(page), expectLower);
    const last = requests[requests.length - 1];
    assert.equal(`${last.pathname}${last.search}`, offsetsPath(lower), 'the page asks for fuzzy matches, 50 at a time');
    const li = page.locator(`#results li.result[data-title=${attr(title)}]`);
    assert.ok(!(await li.evaluate((e) => e.classList.contains('is-typo'))), 'a folded prefix hit is not a typo hit');
    assert.equal(urlMatch(page), null, 'the default mode is not written into the URL');

    if (typo) {
      const expectTypo = onePerPage(await offsets(typo));
      assert.ok(expectTypo.includes(title), `the API's fuzzy answer for ${typo} lists ${title}`);
      await search(page, typo);
      assert.deepEqual(await listed(page), expectTypo);
      const row = page.locator(`#results li.result[data-title=${attr(title)}]`);
      assert.ok(await row.evaluate((e) => e.classList.contains('is-typo')), `${title} is marked as a typo hit for ${typo}`);
      assert.match(norm(await row.innerText()), /did you mean\?/);
      assert.match(await page.textContent('#status'), /by similar spelling/);
      // Only typo hits are marked.
      const marked = await page.$$eval('#results li.result.is-typo', (els) => els.map((e) => e.dataset.title));
      assert.deepEqual(marked, expectTypo.filter((x) => !fold(x).startsWith(fold(typo))));
    }
  });
});

test('exact mode: the lower-case spelling finds nothing, a capitalised prefix finds exact matches', async () => {
  const { title, lower, short } = await demo();
  const exactLower = onePerPage(await offsets(lower, { match: 'exact' }));
  const exactShort = onePerPage(await offsets(short, { match: 'exact' }));
  assert.ok(exactShort.includes(title) || exactShort.length === PAGE_SIZE);
  await withPage({}, async (page) => {
    const requests = recordOffsets(page);
    await page.goto('/');
    await search(page, lower);
    await page.getByRole('radio', { name: 'Exact' }).check();
    await waitResults(page, lower, 'exact');
    assert.equal(await checkedMode(page), 'exact');
    assert.equal(urlMatch(page), 'exact', 'a non-default mode is in the URL');
    assert.equal(urlState(page).q, lower);
    assert.deepEqual(await listed(page), exactLower);
    if (!exactLower.length) {
      assert.equal(await page.getAttribute('#results', 'data-state'), 'empty');
      assert.ok(await page.isVisible('#no-results'));
      assert.match(await page.textContent('#status'), /No titles start with/);
    }
    const last = requests[requests.length - 1];
    assert.equal(`${last.pathname}${last.search}`, offsetsPath(lower, { match: 'exact' }));

    await search(page, short, 'exact');
    assert.deepEqual(await listed(page), exactShort);
    assert.equal(await page.locator('#results li.result.is-typo').count(), 0, 'no typo hits in exact mode');
    assert.match(await page.textContent('#status'), /titles? starts? with/);

    // And back: the same text, fuzzy again.
    await page.getByRole('radio', { name: 'Fuzzy' }).check();
    await waitResults(page, short);
    assert.deepEqual(await listed(page), onePerPage(await offsets(short)));
    assert.equal(urlMatch(page), null);
  });
});

test('the mode survives a shared URL, a reload, Back and Forward; arrow keys switch it', async () => {
  const { title, lower, short } = await demo();
  const exactShort = onePerPage(await offsets(short, { match: 'exact' }));
  const exactLower = onePerPage(await offsets(lower, { match: 'exact' }));
  await withPage({}, async (page) => {
    await page.goto(`/?q=${encodeURIComponent(lower)}&match=exact`);
    await waitResults(page, lower, 'exact');
    assert.equal(await checkedMode(page), 'exact');
    assert.deepEqual(await listed(page), exactLower);

    await search(page, short, 'exact');
    if (exactShort.includes(title)) {
      await page.click(`#results li.result[data-title=${attr(title)}]`);
      await waitOpen(page, title);
      assert.deepEqual({ ...urlState(page), match: urlMatch(page) }, { q: short, page: title, match: 'exact' });
      await page.reload();
      await waitResults(page, short, 'exact');
      await waitOpen(page, title);
      assert.equal(await checkedMode(page), 'exact');
      assert.deepEqual(await listed(page), exactShort);
      await page.goBack(); // to the list without the page, still exact
      await waitResults(page, short, 'exact');
      assert.ok(await page.isHidden('#viewer'));
      assert.equal(urlMatch(page), 'exact');
      assert.equal(await checkedMode(page), 'exact');
    }

    // Switching is a step in history: Back undoes it, Forward redoes it.
    await page.getByRole('radio', { name: 'Fuzzy' }).check();
    await waitResults(page, short);
    assert.equal(urlMatch(page), null);
    await page.goBack();
    await waitResults(page, short, 'exact');
    assert.equal(await checkedMode(page), 'exact');
    assert.equal(urlMatch(page), 'exact');
    assert.deepEqual(await listed(page), exactShort);
    await page.goForward();
    await waitResults(page, short);
    assert.equal(await checkedMode(page), 'fuzzy');
    assert.deepEqual(await listed(page), onePerPage(await offsets(short)));

    // The keyboard: the radios are one tab stop; arrow keys move the selection.
    await page.focus(modeRadio('fuzzy'));
    await page.keyboard.press('ArrowRight');
    await waitResults(page, short, 'exact');
    assert.equal(await checkedMode(page), 'exact');
    assert.equal(urlMatch(page), 'exact');

    // An unknown mode in a URL is the default.
    await page.goto(`/?q=${encodeURIComponent(lower)}&match=bogus`);
    await waitResults(page, lower);
    assert.equal(await checkedMode(page), 'fuzzy');
  });
});

test('fuzzy mode: load more asks again with a larger limit and appends only the new titles', async (t) => {
  const prefix = EXPECT.morePrefix;
  if (!prefix) return t.skip(`no prefix has more than ${PAGE_SIZE} fuzzy matches in this dump`);
  await withPage({}, async (page) => {
    const requests = recordOffsets(page);
    await page.goto('/');
    await search(page, prefix);
    const answers = [await offsets(prefix)];
    assert.deepEqual(await listed(page), onePerPage(...answers));
    for (let limit = 2 * PAGE_SIZE; limit <= Math.min(4 * PAGE_SIZE, MAX_LIMIT); limit += PAGE_SIZE) {
      assert.ok(await page.isVisible('#load-more'), `load more is offered below ${limit - PAGE_SIZE} titles`);
      answers.push(await offsets(prefix, { limit }));
      const expected = onePerPage(...answers);
      const before = (await listed(page)).length;
      await page.click('#load-more');
      await page.waitForFunction((n) => document.querySelectorAll('#results li.result').length > n
        && !document.getElementById('load-more').disabled, before);
      const last = requests[requests.length - 1];
      assert.equal(`${last.pathname}${last.search}`, offsetsPath(prefix, { limit }), 'load more re-asks with a larger limit');
      const shown = await listed(page);
      assert.deepEqual(shown, expected);
      assert.equal(new Set(shown).size, shown.length, 'no duplicates');
      const ids = await page.$$eval('#results li.result', (els) => els.map((e) => e.id));
      assert.equal(new Set(ids).size, ids.length, 'option ids stay unique');
      if (answers[answers.length - 1].length < limit) {
        assert.ok(await page.isHidden('#load-more'), 'no load more after the last match');
        break;
      }
    }
  });
});

test('Raw XML shows exactly the bytes of the fragment', async () => {
  const { open } = EXPECT;
  const expected = await fragment(open.start, open.end);
  assert.equal(Buffer.byteLength(expected), open.end - open.start + 1);
  await withPage({}, async (page) => {
    await page.goto(`/?page=${encodeURIComponent(open.title)}`);
    await waitOpen(page, open.title);
    assert.ok(await page.isHidden('#raw'));
    await page.click('#raw-toggle');
    assert.equal(await page.getAttribute('#raw-toggle', 'aria-pressed'), 'true');
    assert.ok(await page.isVisible('#raw'));
    assert.ok(await page.isHidden('#page-body'));
    assert.equal(await page.textContent('#raw'), expected);
    await page.click('#raw-toggle');
    assert.ok(await page.isHidden('#raw'));
    assert.ok(await page.isVisible('#page-body'));
  });
});

test('a redirect is badged in the list and its page links to the target', async (t) => {
  let row = null;
  for (const p of [EXPECT.prefix, EXPECT.morePrefix, ...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter(Boolean)) {
    row = (await offsets(p)).find((r) => r.redirect != null);
    if (row) break;
  }
  if (!row) return t.skip('no redirects in this dump');
  // An exact title lookup: in title order the title itself comes first.
  const target = (await offsets(row.redirect, { limit: 1, match: 'exact', rank: false }))[0];
  const targetExists = target && target.title === row.redirect;
  await withPage({}, async (page) => {
    await page.goto('/');
    await search(page, row.title);
    const li = page.locator(`#results li.result[data-title=${attr(row.title)}]`);
    assert.match(norm(await li.innerText()), new RegExp(`redirect → ${row.redirect.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    await li.click();
    await waitOpen(page, row.title);
    const link = page.locator('#viewer .redirect-target');
    assert.equal(await link.textContent(), row.redirect);
    await link.click();
    await page.waitForFunction((t) => document.getElementById('viewer').dataset.title === t
      && ['done', 'missing'].includes(document.getElementById('viewer').dataset.state), row.redirect);
    assert.equal(await page.getAttribute('#viewer', 'data-state'), targetExists ? 'done' : 'missing');
    assert.equal(await page.inputValue('#q'), row.redirect);
    assert.equal(urlState(page).page, row.redirect);
  });
});

test('wiki links in the text search for and open their target', async () => {
  const { open } = EXPECT;
  await withPage({}, async (page) => {
    await page.goto(`/?page=${encodeURIComponent(open.title)}`);
    await waitOpen(page, open.title);
    const link = page.locator('#page-body a.wl:visible').first();
    const target = await link.getAttribute('data-title');
    assert.ok(target, 'the page has at least one wiki link');
    await link.click();
    await page.waitForFunction((t) => document.getElementById('viewer').dataset.title === t
      && ['done', 'missing'].includes(document.getElementById('viewer').dataset.state), target);
    await waitResults(page, target);
    assert.equal(await page.inputValue('#q'), target);
    assert.equal(urlState(page).page, target);
    await page.goBack();
    await waitOpen(page, open.title);
  });
});

test('errors are visible: server unreachable, 4xx JSON message, failed page read; then recovery', async () => {
  const { prefix, titles, open } = EXPECT;
  await withPage({}, async (page) => {
    await page.goto('/');
    await page.route('**/offsets/**', (route) => route.abort('connectionrefused'));
    await search(page, prefix);
    assert.equal(await page.getAttribute('#results', 'data-state'), 'error');
    assert.match(await page.textContent('#status'), /error.*can't reach/i);
    assert.equal(await page.getAttribute('#status', 'data-kind'), 'error');
    assert.ok(await page.isVisible('#error-box'));

    await page.unroute('**/offsets/**');
    await page.route('**/offsets/**', (route) => route.fulfill({
      status: 400, contentType: 'application/json', body: JSON.stringify({ error: 'limit must be a whole number (test)' }),
    }));
    await search(page, `${prefix}x`);
    assert.match(await page.textContent('#status'), /400.*limit must be a whole number \(test\)/);

    await page.unroute('**/offsets/**');
    await search(page, prefix);
    assert.equal(await page.getAttribute('#results', 'data-state'), 'done');
    assert.deepEqual((await listed(page)).slice(0, titles.length), titles);
    assert.ok(await page.isHidden('#error-box'));

    await page.route('**/xml', (route) => route.abort('connectionrefused'));
    await page.goto(`/?page=${encodeURIComponent(open.title)}`);
    await page.waitForFunction(() => document.getElementById('viewer').dataset.state === 'error');
    assert.match(await page.innerText('#page-notice'), /could not read this page/i);
    assert.match(await page.textContent('#status'), /error/i);
  });
});

test('a slow stale response never replaces a newer one', async (t) => {
  const { prefix, titles } = EXPECT;
  const short = prefix.slice(0, -1);
  if (!short) return t.skip('the expected prefix is one character');
  await withPage({}, async (page) => {
    await page.goto('/');
    await page.route('**/offsets/**', async (route) => {
      const stale = new URL(route.request().url()).pathname === `/offsets/${encodeURIComponent(short)}`;
      if (stale) await new Promise((r) => setTimeout(r, 600));
      try {
        await route.continue();
      } catch { /* aborted by the page meanwhile */ }
    });
    await page.fill('#q', short);
    await page.waitForTimeout(200); // past the debounce: the request for `short` is in flight
    await page.fill('#q', prefix);
    await waitResults(page, prefix);
    await page.waitForTimeout(800); // the stale answer, had it not been aborted, would land now
    assert.equal(await page.getAttribute('#results', 'data-query'), prefix);
    assert.deepEqual((await listed(page)).slice(0, titles.length), titles);
  });
});

test('no results: a clear message; in exact mode, hints about capitals and fuzzy matching', async () => {
  const { prefix, titles } = EXPECT;
  const none = `${titles[0]}\u2603\u2603 no such title`;
  await withPage({}, async (page) => {
    await page.goto('/');
    await search(page, none);
    assert.equal(await page.getAttribute('#results', 'data-state'), 'empty');
    assert.ok(await page.isVisible('#no-results'));
    assert.match(await page.textContent('#status'), /No titles match/);
    assert.equal(await page.locator('#no-results button').count(), 0, 'no capitals hint in fuzzy mode');

    await page.goto('/?match=exact');
    await search(page, none, 'exact');
    assert.equal(await page.getAttribute('#results', 'data-state'), 'empty');
    assert.match(await page.textContent('#status'), /No titles start with/);
    const lower = prefix[0].toLowerCase() + prefix.slice(1);
    if (lower !== prefix && (await offsets(lower, { match: 'exact' })).length === 0) {
      const exact = onePerPage(await offsets(prefix, { match: 'exact' }));
      await search(page, lower, 'exact');
      await page.click('#no-results button.try-capital');
      await waitResults(page, prefix, 'exact');
      assert.equal(await page.inputValue('#q'), prefix);
      assert.deepEqual(await listed(page), exact);
      assert.equal(urlMatch(page), 'exact');

      await search(page, lower, 'exact');
      await page.click('#no-results button.try-fuzzy');
      await waitResults(page, lower, 'fuzzy');
      assert.equal(await checkedMode(page), 'fuzzy');
      assert.equal(urlMatch(page), null);
      assert.deepEqual(await listed(page), onePerPage(await offsets(lower)));
    }
  });
});

test('timing shows the round trip and the server time of each lookup', async () => {
  const { prefix } = EXPECT;
  await withPage({}, async (page) => {
    await page.goto('/');
    await search(page, prefix);
    const lookup = norm(await page.textContent('#timing'));
    assert.match(lookup, /lookup [\d.]+ ms round trip · [\d.]+ ms server/i);
    await page.click(`#results li.result[data-title=${attr(EXPECT.titles[0])}]`);
    await waitOpen(page, EXPECT.titles[0]);
    assert.match(norm(await page.textContent('#timing')), /page [\d.]+ ms round trip · [\d.]+ ms server · [\d.]+ (B|KiB|MiB)/i);
  });
});

test('screenshots: desktop and phone, light and dark; no sideways scrolling on a phone', async () => {
  const { prefix, open } = EXPECT;
  const url = `/?q=${encodeURIComponent(prefix)}&page=${encodeURIComponent(open.title)}`;
  for (const colorScheme of ['light', 'dark']) {
    await withPage({ viewport: DESKTOP, colorScheme }, async (page) => {
      await page.goto('/');
      await page.waitForSelector('#stats:not([hidden])');
      await page.screenshot({ path: path.join(SHOT_DIR, `desktop-${colorScheme}-empty.png`) });
      const { lower, typo } = await demo();
      if (typo) {
        await search(page, typo);
        await page.screenshot({ path: path.join(SHOT_DIR, `desktop-${colorScheme}-typo.png`) });
      }
      await page.goto(`/?q=${encodeURIComponent(lower)}&match=exact`);
      await waitResults(page, lower, 'exact');
      await page.focus(modeRadio('exact'));
      await page.keyboard.press('ArrowRight'); // keyboard focus: the focus ring shows (and wraps to fuzzy)
      await page.keyboard.press('ArrowLeft');
      await waitResults(page, lower, 'exact');
      await page.screenshot({ path: path.join(SHOT_DIR, `desktop-${colorScheme}-exact.png`) });
      await page.goto(url);
      await waitOpen(page, open.title);
      await page.focus('#q');
      await page.keyboard.press('ArrowDown');
      await page.screenshot({ path: path.join(SHOT_DIR, `desktop-${colorScheme}.png`) });
    });
    for (const viewport of [PHONE, { width: 360, height: 740 }]) {
      await withPage({ viewport, colorScheme }, async (page) => {
        await page.goto(`/?q=${encodeURIComponent(prefix)}`);
        await waitResults(page, prefix);
        const name = viewport.width === PHONE.width ? 'phone' : `phone${viewport.width}`;
        await page.screenshot({ path: path.join(SHOT_DIR, `${name}-${colorScheme}.png`) });
        assert.ok(await page.isVisible('#match-mode'), 'the matching toggle is on screen');
        const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok((await overflow()) <= 0, `results fit ${viewport.width} px`);
        const item = page.locator(`#results li.result[data-title=${attr(open.title)}]`);
        if (await item.count()) await item.click();
        else await page.goto(url);
        await waitOpen(page, open.title);
        assert.ok(await page.isVisible('#back-to-results'));
        await page.screenshot({ path: path.join(SHOT_DIR, `${name}-${colorScheme}-page.png`) });
        assert.ok((await overflow()) <= 0, `the page fits ${viewport.width} px`);
      });
    }
  }
  assert.ok(fs.existsSync(path.join(SHOT_DIR, 'phone-dark-page.png')));
});
