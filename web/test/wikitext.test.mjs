// Unit tests of the wikitext renderer (web/wikitext.js), no browser needed:
//
//   node --test web/test/*.test.mjs
//
// The renderer builds with the small DOM in dom.mjs; each test reads back the
// tree it built as HTML. WIKIDEX_DUMP_XML names a dump whose every page is
// rendered too (the Rust harness, tests/web_page.rs, passes the real enwiki
// excerpt); without it, the repository's synthetic data/sample.xml.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDocument } from './dom.mjs';
import { createRenderer, elementBuilder, normalizeTitle, nsName } from '../wikitext.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** Renders `src` and returns the fragment. */
function render(src, options = {}) {
  return createRenderer({ document: createDocument(), ...options }).renderWikitext(src);
}
const html = (src, options) => render(src, options).innerHTML;

test('bold and italic nest as MediaWiki nests them', () => {
  assert.equal(html("''a'' '''b''' '''''c''''' d"), '<p><i>a</i> <b>b</b> <i><b>c</b></i> d</p>');
  // Bold closed inside italic: the italic run is reopened after it.
  assert.equal(html("'''b ''bi''' i''"), '<p><b>b <i>bi</i></b><i> i</i></p>');
  // Four quotes are an apostrophe and bold.
  assert.equal(html("''''x'''"), "<p>'<b>x</b></p>");
});

test('wiki links: label, trail, first-letter capital, namespaces, anchors', () => {
  const out = render("[[foo bar|Baz]]s, [[wp:about]], [[#History|see]], [[:Category:Y]]");
  const [a, b, anchor, colon] = out.querySelectorAll('a');
  assert.equal(a.textContent, 'Bazs', 'the trail joins the label');
  assert.equal(a.dataset.title, 'Foo bar');
  assert.equal(a.getAttribute('href'), '/?page=Foo%20bar');
  assert.equal(b.dataset.title, 'Wikipedia:About', 'namespace aliases take their canonical name');
  assert.equal(anchor.className, 'anchor-link');
  assert.equal(anchor.getAttribute('href'), '#h-History');
  assert.equal(colon.dataset.title, 'Category:Y', 'a leading colon links to the category');
  assert.equal(colon.textContent, 'Category:Y');
});

test('the page decides where wiki links point', () => {
  const a = render('[[Ada Lovelace]]', { linkHref: (t) => `/x/${t}` }).querySelector('a');
  assert.equal(a.getAttribute('href'), '/x/Ada Lovelace');
});

test('categories become a footer, interlanguage links vanish', () => {
  const out = render('Text [[fr:Texte]].\n\n[[Category:Cats]] [[Category:Dogs|sort key]] [[category:cats]]');
  assert.equal(out.querySelector('p').textContent, 'Text .');
  const footer = out.querySelector('footer.categories');
  assert.ok(footer, 'a categories footer');
  assert.deepEqual(footer.querySelectorAll('li a').map((a) => a.dataset.title), ['Category:Cats', 'Category:Dogs'],
    'each category once, whatever its case or sort key');
});

test('external links: labelled, numbered, bare; unsafe schemes stay text', () => {
  const out = render('[http://e.com label] [http://f.org] [//g.org/p g] [javascript:alert(1) x] see http://h.com/a. end');
  const links = out.querySelectorAll('a');
  assert.deepEqual(links.map((a) => [a.getAttribute('href'), a.textContent]), [
    ['http://e.com/', 'label'],
    ['http://f.org/', '[1]'],
    ['https://g.org/p', 'g'],
    ['http://h.com/a', 'http://h.com/a'],
  ]);
  for (const a of links) assert.equal(a.getAttribute('rel'), 'nofollow noopener noreferrer');
  assert.match(out.textContent, /\[javascript:alert\(1\) x\]/);
  assert.match(out.textContent, /http:\/\/h\.com\/a\. end$/, 'trailing punctuation is not part of a bare URL');
});

test('lists nest, number and define', () => {
  assert.equal(html('* a\n** b\n* c\n# one\n# two\n; term : def'),
    '<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul><ol><li>one</li><li>two</li></ol><dl><dt>term</dt><dd>def</dd></dl>');
  assert.equal(html('# a\n#* b\n# c'), '<ol><li>a<ul><li>b</li></ul></li><li>c</li></ol>');
});

test('headings get ids, and four or more a table of contents', () => {
  const few = render('== A ==\nx\n=== B ===\ny');
  assert.deepEqual(few.querySelectorAll('h3, h4').map((h) => [h.localName, h.id, h.textContent]),
    [['h3', 'h-A', 'A'], ['h4', 'h-B', 'B']]);
  assert.equal(few.querySelector('nav'), null, 'no contents for two headings');
  const many = render('Lead.\n== One ==\n== Two ==\n=== Two a ===\n== Three ==', { wide: () => false });
  const toc = many.querySelector('nav.toc');
  assert.ok(toc, 'contents for four headings');
  assert.equal(many.childNodes.indexOf(toc), 1, 'after the lead, before the first heading');
  assert.deepEqual(toc.querySelectorAll('a').map((a) => a.getAttribute('href')), ['#h-One', '#h-Two', '#h-Two_a', '#h-Three']);
  assert.equal(toc.querySelector('details').hasAttribute('open'), false, 'a narrow page starts with the contents closed');
  assert.equal(render('== 1 ==\n== 2 ==\n== 3 ==\n== 4 ==').querySelector('details').hasAttribute('open'), true);
});

test('tables: caption, header cells, spans, inline cells, multi-line cells', () => {
  const out = render('{| class=wikitable\n|+ Cap\n! A !! B\n|-\n| colspan=2 | wide\n|-\n| rowspan="2" | r || x\n|-\n| first\n* item\n|}');
  const table = out.querySelector('table.wikitable');
  assert.equal(table.querySelector('caption').textContent, 'Cap');
  const rows = table.querySelectorAll('tr');
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0].querySelectorAll('th').map((c) => c.textContent), ['A', 'B']);
  assert.equal(rows[1].querySelector('td').colSpan, 2);
  assert.equal(rows[1].querySelector('td').textContent, 'wide', 'attributes are not content');
  assert.deepEqual(rows[2].querySelectorAll('td').map((c) => [c.rowSpan, c.textContent]), [[2, 'r'], [1, 'x']]);
  assert.equal(rows[3].querySelector('td ul li').textContent, 'item', 'a cell over several lines keeps its list');
});

test('infoboxes list their filled fields', () => {
  const out = render('{{Infobox person\n| name = Ada\n| birth_date = {{birth date|1815|12|10}}\n| empty =\n}}\nText.');
  const box = out.querySelector('details.infobox');
  assert.ok(box);
  assert.equal(box.querySelector('.tpl-name').textContent, 'Infobox person');
  assert.deepEqual(box.querySelectorAll('tr').map((tr) => [tr.querySelector('th').textContent, tr.querySelector('td').textContent]),
    [['name', 'Ada'], ['birth date', '10 December 1815']]);
  assert.equal(out.querySelector('p').textContent, 'Text.');
  assert.ok(box.hasAttribute('open'), 'open beside the text on a wide page');
  const narrow = render('{{Infobox person|name=Ada}}', { wide: () => false });
  assert.equal(narrow.querySelector('details.infobox').hasAttribute('open'), false, 'closed on a narrow one');
});

test('templates: hatnotes, fix notes, conversions, hidden ones, chips and boxes', () => {
  const out = render('{{Main|Foo bar|Baz}}\nText{{cn}} is {{convert|5|km|mi}} and {{nowrap|kept}} and {{foo|bar}}.\n{{Use dmy dates}}\n{{Navbox thing|x}}');
  const hat = out.querySelector('div.hatnote');
  assert.equal(hat.textContent, 'Main article: Foo bar and Baz');
  assert.deepEqual(hat.querySelectorAll('a').map((a) => a.dataset.title), ['Foo bar', 'Baz']);
  const p = out.querySelector('p');
  assert.equal(p.querySelector('sup.fix-note').textContent, '[citation needed]');
  assert.match(p.textContent, /is 5 km and kept and /);
  const chip = p.querySelector('button.tpl-chip');
  assert.equal(chip.textContent, '{{foo}}');
  assert.equal(chip.getAttribute('aria-expanded'), 'false');
  const src = p.querySelector('code.tpl-src-inline');
  assert.equal(src.textContent, '{{foo|bar}}');
  assert.ok(src.hidden, 'the source waits for the chip');
  const boxes = out.querySelectorAll('details.tpl-box');
  assert.equal(boxes.length, 1, 'Use dmy dates renders nothing');
  assert.equal(boxes[0].querySelector('pre.tpl-src').textContent, '{{Navbox thing|x}}');
});

test('list templates become lines, or a dotted line when flat', () => {
  const out = render('{{Infobox scientist\n| fields = {{Plainlist|\n* [[Physics]]\n* philosophy\n}}\n| awards = {{flatlist|\n* A\n* B\n}}\n}}\nSee {{ubl|one|[[Two]]}} and {{hlist|x|y}}.');
  const [fields, awards] = out.querySelectorAll('td');
  assert.equal(fields.innerHTML, '<span class="plainlist"><a href="/?page=Physics" class="wl" data-title="Physics" title="Physics">Physics</a><br>philosophy</span>');
  assert.equal(awards.textContent, 'A · B');
  const p = out.querySelector('p');
  assert.equal(p.querySelector('span.plainlist').innerHTML,
    'one<br><a href="/?page=Two" class="wl" data-title="Two" title="Two">Two</a>');
  assert.equal(p.querySelector('span.flatlist').textContent, 'x · y');
  assert.equal(out.querySelectorAll('button.tpl-chip').length, 0, 'none is left as a chip');
});

test('references and comments drop out; a references list leaves a note', () => {
  const out = render('a<ref name=x>{{cite web|url=http://e.com|title=T}}</ref> b<ref name=y/> c<!-- hidden -->\n==Notes==\n{{reflist}}');
  assert.equal(out.querySelector('p').textContent, 'a b c');
  assert.ok(out.querySelector('p.refnote'), 'the references list says where the references are');
  assert.equal(out.querySelectorAll('a').length, 0, 'nothing of the cite template shows');
});

test('nowiki, pre, math, entities and sub/sup', () => {
  const out = render("<nowiki>''[[no]]''</nowiki> <math>x^2</math> &amp;&nbsp;&mdash;&#x41;&#66; H<sub>2</sub>O x<sup>2</sup>\n pre ''line''\n<pre>raw ''text''</pre>");
  const p = out.querySelector('p');
  assert.match(p.textContent, /^''\[\[no\]\]'' /, 'nowiki is literal');
  assert.equal(p.querySelector('code.math').textContent, 'x^2');
  assert.match(p.textContent, /&\u00a0—AB /);
  assert.equal(p.querySelector('sub').textContent, '2');
  assert.equal(p.querySelector('sup').textContent, '2');
  const [indented, tag] = out.querySelectorAll('pre');
  assert.equal(indented.innerHTML, 'pre <i>line</i>', 'an indented line is preformatted wikitext');
  assert.equal(tag.innerHTML, "raw ''text''", '<pre> is literal');
});

test('untrusted markup never becomes elements or handlers', () => {
  const out = render('<script>alert(1)</script> <img src=x onerror=alert(1)> <span onclick="x()">s</span> <b style="x">b</b> [[x|<i onmouseover=y>z</i>]]');
  for (const el of out.querySelectorAll('*')) {
    assert.ok(!['script', 'img', 'style', 'iframe'].includes(el.localName), el.outerHTML);
    for (const name of el.attributes.keys()) assert.ok(!name.startsWith('on') && name !== 'style' && name !== 'src', el.outerHTML);
  }
  assert.match(out.textContent, /alert\(1\)/, 'the text inside a dropped tag stays as text');
});

test('private-use markers in the input cannot forge the renderer\'s own', () => {
  const out = render('a \uE0000\uE001 b {{foo}}');
  assert.doesNotMatch(out.textContent, /[\uE000\uE001]/);
  assert.equal(out.querySelectorAll('button.tpl-chip').length, 1, 'only the real template is a template');
});

test('renderInline renders one line without blocks', () => {
  const r = createRenderer({ document: createDocument() });
  assert.equal(r.renderInline("fix [[Foo]] ''typo''").innerHTML,
    '<a href="/?page=Foo" class="wl" data-title="Foo" title="Foo">Foo</a>'.replace(/^/, 'fix ') + ' <i>typo</i>');
});

test('normalizeTitle and nsName', () => {
  assert.equal(normalizeTitle('foo_bar  baz'), 'Foo bar baz');
  assert.equal(normalizeTitle('image:x.png'), 'File:X.png');
  assert.equal(normalizeTitle(' talk : foo'), 'Talk:Foo');
  assert.equal(normalizeTitle('iPod'), 'IPod', 'MediaWiki capitalises the first letter');
  assert.equal(normalizeTitle('Notaspace: x'), 'Notaspace: x');
  assert.equal(nsName(14), 'Category');
  assert.equal(nsName(999), 'Namespace 999');
});

test('elementBuilder: attributes, text, dataset, handlers, children', () => {
  const h = elementBuilder(createDocument());
  const clicked = () => {};
  const el = h('a', { class: 'k', text: 'T', dataset: { fooBar: '1' }, href: '/x', hidden: true, skip: null, off: false, onclick: clicked },
    ' tail', null, h('b', null, 'B'));
  assert.equal(el.outerHTML, '<a class="k" data-foo-bar="1" href="/x" hidden>T tail<b>B</b></a>');
  assert.deepEqual(el.listeners, [['click', clicked]]);
});

// ------------------------------------------------------- every page of a dump

const ELEMENTS = new Set(('p b i u s del ins small span sub sup code kbd var samp q abbr cite dfn mark strong em br hr a '
  + 'h3 h4 h5 h6 ul ol li dl dt dd pre table caption tbody tr th td div details summary nav footer blockquote button '
  + 'svg rect path circle').split(' '));
const ATTRIBUTES = new Set(('class href title id rel target tabindex role colspan rowspan hidden type open scope '
  + 'viewbox x y width height rx fill stroke stroke-width stroke-linejoin d cx cy r').split(' '));

function dumpPages(file) {
  const xml = fs.readFileSync(file, 'utf8');
  const unescape = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#0?39;/g, "'").replace(/&amp;/g, '&');
  return [...xml.matchAll(/<page>[\s\S]*?<\/page>/g)].map(([page]) => ({
    title: unescape(/<title>([^<]*)<\/title>/.exec(page)[1]),
    text: unescape((/<text\b[^>]*>([\s\S]*?)<\/text>/.exec(page) || [])[1] || ''),
  }));
}

test('every page of a dump renders, safely and completely', () => {
  const file = process.env.WIKIDEX_DUMP_XML || path.join(HERE, '../../data/sample.xml');
  const pages = dumpPages(file);
  assert.ok(pages.length > 100, `${file}: ${pages.length} pages`);
  let headings = 0;
  for (const { title, text } of pages) {
    const out = render(text);
    const where = `${path.basename(file)}: ${title}`;
    for (const el of out.querySelectorAll('*')) {
      assert.ok(ELEMENTS.has(el.localName), `${where}: <${el.localName}>`);
      for (const [name, value] of el.attributes) {
        assert.ok(ATTRIBUTES.has(name) || /^(data|aria)-[a-z-]+$/.test(name), `${where}: attribute ${name}`);
        if (name === 'href') assert.match(value, /^(https?:|ftp:|mailto:|#|\/\?page=)/, `${where}: href ${value}`);
      }
    }
    assert.doesNotMatch(out.textContent, /[\uE000\uE001]/, `${where}: a marker leaked into the text`);
    // A section heading at the start of a line, outside comments and
    // tables, is a heading of the rendered page.
    const bare = text.replace(/<!--[\s\S]*?-->/g, '');
    const sections = (bare.match(/^==[^=].*[^=]==\s*$/gm) || []).length;
    const rendered = out.querySelectorAll('h3').length;
    assert.ok(rendered >= Math.min(sections, 1), `${where}: ${sections} sections in the source, ${rendered} rendered`);
    headings += rendered;
    if (/^'''[^']+'''/m.test(bare) && !/^\s*#redirect/i.test(bare)) {
      assert.ok(out.querySelector('b'), `${where}: the bold lead is bold`);
    }
  }
  assert.ok(headings > pages.length / 10, `${headings} headings in ${pages.length} pages`);
});
