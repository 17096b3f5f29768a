//! `GET /offsets/{prefix}`: titles starting with a prefix, with their byte
//! ranges. Query: `limit`, `after` (paging), `match=exact|folded|fuzzy`,
//! `order=title|rank`, `ns=0,14`, `fields=ns,redirect,id,score`,
//! `redirects=resolve`. Parsing is
//! [`OffsetsQuery`]; [`render`] writes the JSON straight into one buffer.

use super::path_rest;
use crate::error::ApiError;
use crate::mime;
use crate::request::{decode_path_title, parse_query, single};
use crate::state::{AppState, NamespaceHead};
use actix_web::HttpResponse;
use actix_web::http::Uri;
use actix_web::http::header::HeaderMap;
use std::cmp::Reverse;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use wikidex_indexer::fold::fold;
use wikidex_indexer::levenshtein_automata::LevenshteinAutomatonBuilder;
use wikidex_indexer::rank::{Filter, SCAN_ROWS, rank_key};
use wikidex_indexer::{Page, Redirect};

/// Extra per-row fields a client may ask for with `fields=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The namespace key.
    Ns,
    /// The redirect target title, or null.
    Redirect,
    /// The page id, or null.
    Id,
    /// The popularity score: how many pages link to it.
    Score,
}

/// The order of `/offsets` rows (`order=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Title byte order (the default, and the contract).
    Title,
    /// Highest score first, ties in title order; with `match=folded|fuzzy`
    /// exact-prefix matches first, each group by score.
    Rank,
}

/// Parses `fields=ns,redirect,id` (any order, no repeats).
pub fn parse_fields(value: &str) -> Result<Vec<Field>, ApiError> {
    let mut fields = Vec::new();
    for name in value.split(',').filter(|s| !s.is_empty()) {
        let f = match name {
            "ns" => Field::Ns,
            "redirect" => Field::Redirect,
            "id" => Field::Id,
            "score" => Field::Score,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown field {other:?} in fields=; known fields are ns, redirect, id, score"
                )));
            }
        };
        if fields.contains(&f) {
            return Err(ApiError::BadRequest(format!("field {name:?} is listed twice in fields=")));
        }
        fields.push(f);
    }
    Ok(fields)
}

/// Parses `limit`: a whole number from 1 to `max`.
pub fn parse_limit(value: &str, max: usize) -> Result<usize, ApiError> {
    let bad = || ApiError::BadRequest(format!("limit must be a whole number from 1 to {max}, got {value:?}"));
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match value.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(bad()),
    }
}

/// How `/offsets` matches the prefix (`match=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMode {
    /// Case-sensitive byte prefix (the default).
    Exact,
    /// Case- and accent-insensitive prefix ([`wikidex_indexer::fold`]).
    Folded,
    /// Folded, plus typo-tolerant prefixes: edit distance 1 for 4–7
    /// characters, 2 for 8 or more (a transposition counts as one edit).
    Fuzzy,
}

/// Rows examined per request at most when filters drop rows, so a filter
/// over a huge prefix cannot make a slow request.
pub const SCAN_BUDGET: usize = 200_000;
/// Time a fuzzy search may take before it returns what it has.
pub const FUZZY_BUDGET: Duration = Duration::from_millis(20);

/// Everything a request to `/offsets` asks for, parsed and validated.
#[derive(Debug)]
pub struct OffsetsQuery {
    /// The decoded prefix.
    pub prefix: String,
    /// Maximum rows.
    pub limit: usize,
    /// Continue after this title.
    pub after: Option<String>,
    /// Extra row fields.
    pub fields: Vec<Field>,
    /// Matching mode.
    pub mode: MatchMode,
    /// Row order.
    pub order: Order,
    /// Namespaces to keep (`None`: all).
    pub namespaces: Option<Vec<i32>>,
    /// Replace redirects by their targets.
    pub resolve: bool,
    /// One row per page: a redirect is left out when its target (or
    /// another redirect to it) is already listed, and a page when one of
    /// its redirects is; with `order=rank`, rows rank by [`page_score`]
    /// (suggestions, and `/offsets`' `redirects=merge`).
    pub distinct: bool,
}

impl OffsetsQuery {
    /// Parses a request for `uri` (`/offsets/{prefix}?{query}`).
    pub fn parse(uri: &Uri, state: &AppState) -> Result<OffsetsQuery, ApiError> {
        let prefix = decode_path_title(path_rest(uri, "/offsets"))?;
        if prefix.is_empty() {
            return Err(ApiError::BadRequest(
                "empty prefix: ask for /offsets/{prefix}, e.g. /offsets/Pyth".into(),
            ));
        }
        let query = parse_query(uri.query().unwrap_or(""))?;
        let limit = match single(&query, "limit")? {
            Some(v) => parse_limit(v, state.config.max_limit)?,
            None => state.config.default_limit(),
        };
        let after = single(&query, "after")?.map(|a| a.replace('_', " "));
        let fields = match single(&query, "fields")? {
            Some(v) => parse_fields(v)?,
            None => Vec::new(),
        };
        let mode = match single(&query, "match")? {
            None | Some("exact") => MatchMode::Exact,
            Some("folded") => MatchMode::Folded,
            Some("fuzzy") => MatchMode::Fuzzy,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "match must be exact, folded or fuzzy, got {other:?}"
                )));
            }
        };
        if mode != MatchMode::Exact && !state.index.has_folded() {
            return Err(ApiError::BadRequest(
                "this index was built without folded titles; rebuild it with `wikidex index` for match=folded/fuzzy"
                    .into(),
            ));
        }
        let order = match single(&query, "order")? {
            None | Some("title") => Order::Title,
            Some("rank") => Order::Rank,
            Some(other) => {
                return Err(ApiError::BadRequest(format!("order must be title or rank, got {other:?}")));
            }
        };
        if mode == MatchMode::Fuzzy && after.is_some() {
            return Err(ApiError::BadRequest("after= pages exact and folded matches; fuzzy results are ranked, ask for a larger limit instead".into()));
        }
        let namespaces = match single(&query, "ns")? {
            Some(v) => Some(parse_namespaces(v)?),
            // `Category:Sci` searches namespace 14 when no ns= is given.
            None => prefix
                .split_once(':')
                .and_then(|(name, _)| state.index.manifest().site.namespace_named(name))
                .map(|ns| vec![ns.key]),
        };
        let (resolve, distinct) = match single(&query, "redirects")? {
            None | Some("return") => (false, false),
            Some("resolve") => (true, false),
            Some("merge") => (false, true),
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "redirects must be return, resolve or merge, got {other:?}"
                )));
            }
        };
        Ok(OffsetsQuery { prefix, limit, after, fields, mode, order, namespaces, resolve, distinct })
    }
}

/// Parses `redirects=return|resolve` (absent: return): true to resolve.
pub fn parse_redirects(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None | Some("return") => Ok(false),
        Some("resolve") => Ok(true),
        Some(other) => {
            Err(ApiError::BadRequest(format!("redirects must be return or resolve, got {other:?}")))
        }
    }
}

/// Parses `ns=0,14` (also `|`-separated).
pub fn parse_namespaces(value: &str) -> Result<Vec<i32>, ApiError> {
    value
        .split([',', '|'])
        .map(|n| {
            n.trim().parse().map_err(|_| {
                ApiError::BadRequest(format!(
                    "ns must be namespace numbers separated by commas, got {value:?}"
                ))
            })
        })
        .collect()
}

/// The answer to a GET or HEAD of `uri` with these request `headers`.
pub(crate) fn answer(uri: &Uri, headers: &HeaderMap, state: &AppState) -> Result<HttpResponse, ApiError> {
    let query = OffsetsQuery::parse(uri, state)?;
    if let Some(res) = super::not_modified(headers, state) {
        return Ok(res);
    }
    let body = render(state, &query)?;
    let mut res = HttpResponse::Ok().content_type(mime::content_type(mime::JSON)).body(body);
    super::content_validators(res.headers_mut(), state);
    Ok(res)
}

/// Levenshtein automaton builders for distances 1 and 2 (transpositions
/// cost one), built once: their construction takes milliseconds.
fn dfa_builder(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static ONE: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    static TWO: OnceLock<LevenshteinAutomatonBuilder> = OnceLock::new();
    let cell = if distance == 1 { &ONE } else { &TWO };
    cell.get_or_init(|| LevenshteinAutomatonBuilder::new(distance, true))
}

/// Typos allowed for a folded query of `chars` characters (as Meilisearch).
pub fn typo_budget(chars: usize) -> u8 {
    match chars {
        0..4 => 0,
        4..8 => 1,
        _ => 2,
    }
}

/// Typo-tolerant rows ranked at most, with `order=rank`.
const FUZZY_RANKED: usize = 4096;

/// The longest folded query fuzzy matching accepts; longer ones match
/// folded prefixes only (the automaton grows with the query).
const FUZZY_MAX_BYTES: usize = 128;

/// `[[title, start, end, …fields], …]` for at most `limit` rows.
pub fn render(state: &AppState, q: &OffsetsQuery) -> Result<Vec<u8>, ApiError> {
    if let Some(json) = render_written(state, q) {
        return Ok(json);
    }
    let mut out = Rows::new(state, q, Output::Json(Vec::with_capacity(2 + 96 * q.limit.min(128))));
    select(state, q, &mut out)?;
    match out.finish() {
        Output::Json(json) => Ok(json),
        Output::Titles(_) => unreachable!("render collects JSON"),
    }
}

/// The answer copied from rows the index already holds as JSON
/// (`rows.jsf`): for an exact prefix with nothing that changes a row (no
/// `fields`, `ns` or `redirects=resolve`), the answer's rows are
/// consecutive rows of the index, and so are their fragments. `None` when
/// the query or the index does not allow it; [`render`] then writes the
/// rows itself (the same bytes: tests/index.rs compares them).
fn render_written(state: &AppState, q: &OffsetsQuery) -> Option<Vec<u8>> {
    if q.mode != MatchMode::Exact
        || q.order != Order::Title
        || !q.fields.is_empty()
        || q.namespaces.is_some()
        || q.resolve
        || !state.index.has_json_rows()
    {
        return None;
    }
    let index = &state.index;
    let limit = u32::try_from(q.limit).unwrap_or(u32::MAX);
    let rows = index.prefix_rows(q.prefix.as_bytes(), q.after.as_deref().map(str::as_bytes), limit);
    let fragments = index.json_rows(rows)?;
    // Each fragment ends with a comma; the last one's is dropped.
    let fragments = fragments.strip_suffix(b",").unwrap_or(fragments);
    let mut out = Vec::with_capacity(fragments.len() + 2);
    out.push(b'[');
    out.extend_from_slice(fragments);
    out.push(b']');
    Some(out)
}

/// The titles `render` would list, for callers that need only them
/// (`/opensearch`, `/suggest`).
pub fn titles(state: &AppState, q: &OffsetsQuery) -> Result<Vec<String>, ApiError> {
    let mut out = Rows::new(state, q, Output::Titles(Vec::with_capacity(q.limit.min(128))));
    select(state, q, &mut out)?;
    match out.finish() {
        Output::Titles(titles) => Ok(titles),
        Output::Json(_) => unreachable!("titles collects titles"),
    }
}

/// Walks the matches of `q` in answer order into `out` until it is full.
fn select(state: &AppState, q: &OffsetsQuery, out: &mut Rows<'_>) -> Result<(), ApiError> {
    if q.order == Order::Rank {
        return select_ranked(state, q, out);
    }
    let index = &state.index;
    let mut title = Vec::with_capacity(64);
    match q.mode {
        MatchMode::Exact if !q.namespaces_may_match(state, false) => {}
        MatchMode::Exact => {
            let prefix = q.narrowed_prefix(state, false);
            // Titles of namespaces not asked for are stepped over a block
            // at a time (`Category:` under `Cat` with ns=0), not one by one
            // against the scan budget, which would end the answer there.
            let skip = q.other_heads(state, false);
            let mut rows = index.prefix(prefix.as_bytes(), q.after.as_deref().map(str::as_bytes));
            while let Some(range) = rows.next_title(&mut title) {
                if let Some(head) = skip.iter().find(|head| title.starts_with(head.as_bytes())) {
                    // 0xFF never occurs in UTF-8: past every title under `head`.
                    let past = [head.as_bytes(), &[0xFF]].concat();
                    rows = index.prefix(prefix.as_bytes(), Some(&past));
                    continue;
                }
                if !out.title(&title, range)? {
                    break;
                }
            }
        }
        MatchMode::Folded | MatchMode::Fuzzy => {
            let folded = fold(&q.prefix);
            let narrowed = q.narrowed_prefix(state, true);
            let mut rows = index.folded_prefix(&narrowed, q.after.as_deref()).expect("checked has_folded");
            let mut seen = HashSet::new();
            let may_match = q.namespaces_may_match(state, true);
            // As in the exact group: other namespaces' spans a block at a
            // time. Such a span holds that namespace's titles alone, which
            // all start with its `Name:` as written: no title is folded.
            let skip: Vec<&NamespaceHead> =
                q.refused_heads(state, true).filter(|ns| agree(&ns.folded, &folded)).collect();
            while may_match && let Some(range) = rows.next_title(&mut title) {
                if let Some(ns) = skip.iter().find(|ns| title.starts_with(ns.head.as_bytes())) {
                    rows.pass_over(&ns.folded);
                    continue;
                }
                if q.mode == MatchMode::Fuzzy {
                    seen.insert(range.start);
                }
                if !out.title(&title, range)? {
                    break;
                }
            }
            let typos = typo_budget(folded.chars().count());
            if q.mode == MatchMode::Fuzzy && !out.full() && typos > 0 && folded.len() <= FUZZY_MAX_BYTES {
                let typo_skip = q.typo_skip(state);
                each_typo_match(index, &folded, typos, &mut seen, &typo_skip, |title, range| {
                    out.title(title, range)
                })?;
            }
        }
    }
    Ok(())
}

/// Hands `each` the titles whose folded form has a prefix within `typos`
/// edits of `folded` but does not start with it, nearest first (distance
/// 1, then 2), each title once (`seen` holds the first rows of those
/// already listed), leaving out those under the folded heads `skip`,
/// until `each` says it wants no more or [`FUZZY_BUDGET`] has passed.
fn each_typo_match(
    index: &wikidex_indexer::Index,
    folded: &str,
    typos: u8,
    seen: &mut HashSet<u32>,
    skip: &[String],
    mut each: impl FnMut(&[u8], Range<u32>) -> Result<bool, ApiError>,
) -> Result<(), ApiError> {
    let started = Instant::now();
    let mut title = Vec::with_capacity(64);
    // The query's own prefix matches (listed before) and the spans of
    // namespaces not asked for are never walked.
    let left_out: Vec<&str> = std::iter::once(folded).chain(skip.iter().map(String::as_str)).collect();
    for distance in 1..=typos {
        let dfa = dfa_builder(distance).build_prefix_dfa(folded);
        let mut rows = index.fuzzy(&dfa, &left_out).expect("checked has_folded");
        let mut checked = 0u32;
        while let Some((range, _)) = rows.next_title(&mut title) {
            checked += 1;
            if checked.is_multiple_of(32) && started.elapsed() > FUZZY_BUDGET {
                return Ok(());
            }
            if seen.insert(range.start) && !each(&title, range)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

impl OffsetsQuery {
    /// Whether a title of some namespace of `ns=` can start with the prefix
    /// (as typed, or `folded`): every title of a named namespace begins with
    /// `Name:`, so the two must agree as far as both go. Without `ns=`, or
    /// with the main namespace or one the siteinfo does not name, anything
    /// can. When none can, the prefix and folded groups are empty, found
    /// without a pass over a span the filter would empty row by row.
    fn namespaces_may_match(&self, state: &AppState, folded: bool) -> bool {
        let Some(keys) = &self.namespaces else { return true };
        let prefix = self.typed(folded);
        keys.iter().any(|key| match self.heads(state, folded).find(|(k, _)| k == key) {
            Some((_, head)) => agree(head, &prefix),
            None => true,
        })
    }

    /// The prefix to look up (as typed, or `folded`): with `ns=` one named
    /// namespace whose `Name:` extends the prefix (`ns=14` under `Cat`),
    /// that head, whose span holds just that namespace's titles; else the
    /// prefix itself.
    fn narrowed_prefix(&self, state: &AppState, folded: bool) -> String {
        let prefix = self.typed(folded);
        if let Some([key]) = self.namespaces.as_deref()
            && let Some((_, head)) = self.heads(state, folded).find(|(k, _)| k == key)
            && head.starts_with(prefix.as_str())
        {
            return head.to_string();
        }
        prefix
    }

    /// With `ns=`, the `Name:` of every named namespace not asked for that
    /// the prefix could begin (as typed, or `folded`): spans whose titles
    /// the filter refuses whole.
    fn other_heads(&self, state: &AppState, folded: bool) -> Vec<String> {
        let prefix = self.typed(folded);
        self.refused_heads(state, folded)
            .map(|ns| if folded { ns.folded.as_str() } else { ns.head.as_str() })
            .filter(|head| agree(head, &prefix))
            .map(str::to_string)
            .collect()
    }

    /// With `ns=`, the folded `Name:` of every named namespace not asked
    /// for, wherever it stands against the prefix: spans a typo walk
    /// (`cats` reaching `cate…`) passes over.
    fn typo_skip(&self, state: &AppState) -> Vec<String> {
        self.refused_heads(state, true).map(|ns| ns.folded.clone()).collect()
    }

    /// With `ns=`, every named namespace not asked for; with `folded`,
    /// only those whose folded span holds their titles alone
    /// ([`NamespaceHead::folded_alone`]).
    fn refused_heads<'s>(
        &'s self,
        state: &'s AppState,
        folded: bool,
    ) -> impl Iterator<Item = &'s NamespaceHead> {
        let keys = self.namespaces.as_deref();
        state.namespace_heads.iter().filter(move |ns| {
            keys.is_some_and(|keys| !keys.contains(&ns.key)) && (!folded || ns.folded_alone)
        })
    }

    /// The prefix, folded or as it is.
    fn typed(&self, folded: bool) -> String {
        if folded { fold(&self.prefix) } else { self.prefix.clone() }
    }

    /// Each named namespace's key and `Name:`, folded or as written.
    fn heads<'s>(&self, state: &'s AppState, folded: bool) -> impl Iterator<Item = (i32, &'s str)> {
        state
            .namespace_heads
            .iter()
            .map(move |ns| (ns.key, if folded { ns.folded.as_str() } else { ns.head.as_str() }))
    }
}

/// The score of the page `row` stands for: its own, or a redirect's
/// target's (0 for a redirect to a missing page). Suggestions rank by it,
/// since a redirect and its target are one suggestion; `order=rank` and
/// `fields=score` keep each row's own score, which is 0 for a redirect.
pub fn page_score(index: &wikidex_indexer::Index, row: u32) -> u32 {
    resolve_row(index, row).map_or(0, |page| index.score(page))
}

/// A group's rows in answer order, after the row `after` when the
/// group is reordered (else `ranked` starts after it already). For
/// suggestions (`distinct`), rows rank by [`page_score`], a page before a
/// redirect to it, when the group's span is small enough to be scanned
/// whole ([`SCAN_ROWS`]): `NYC` (a redirect to a much linked page) then
/// comes before `NYC Ferry`. A larger span is read from its precomputed
/// list, by each row's own score: there redirects come last, and their
/// targets, most often under the same short prefix, stand for them; the
/// prefix's own title alone is lifted to its page's place ([`Boost`]).
fn by_page<'a>(
    index: &'a wikidex_indexer::Index,
    q: &OffsetsQuery,
    ranked: wikidex_indexer::Ranked<'a>,
    after: Option<u32>,
) -> Box<dyn Iterator<Item = u32> + 'a> {
    if !by_page_whole(q, &ranked) {
        return Box::new(ranked);
    }
    let key =
        |row: u32| (Reverse(page_score(index, row)), !matches!(index.redirect(row), Redirect::None), row);
    let mut rows: Vec<_> = ranked.map(key).collect();
    rows.sort_unstable();
    // `after=` names a row listed before: the answer goes on past its
    // place in this order (found by its key, so even a row the filters
    // now leave out has one).
    let past = after.map(key);
    let rows = rows.into_iter().filter(move |k| past.is_none_or(|past| *k > past));
    Box::new(rows.map(|(_, _, row)| row))
}

/// A prefix's own title, when it is a redirect, in a group read from its
/// precomputed list (by each row's own score, where a redirect's is 0):
/// it takes its page's place there, as it would in a group small enough
/// to be reordered by page ([`by_page`]). Typing `USA` then suggests the
/// redirect to United States first, however many titles start so.
#[derive(Clone, Copy)]
struct Boost {
    row: u32,
    /// Its place: just below every row of its page's score or more
    /// ([`rank_key`] of that score and no row).
    key: u64,
}

impl Boost {
    /// `row` lifted, if it is a redirect the filter keeps, to a page
    /// that any page links to.
    fn of(
        index: &wikidex_indexer::Index,
        row: u32,
        keep: Option<&(dyn Fn(u32) -> bool + Sync)>,
    ) -> Option<Boost> {
        if matches!(index.redirect(row), Redirect::None) || keep.is_some_and(|keep| !keep(row)) {
            return None;
        }
        let score = page_score(index, row);
        (score > 0).then(|| Boost { row, key: rank_key(score, u32::MAX) })
    }

    /// The rank key an answer continues below after `row` (`after=`):
    /// the lifted row's place, or the row's own key.
    fn after_key(index: &wikidex_indexer::Index, boost: Option<Boost>, row: u32) -> u64 {
        match boost {
            Some(b) if b.row == row => b.key,
            _ => index.rank_key(row),
        }
    }

    /// `rows` (in rank order, after `after` when given) with the lifted
    /// row in its place when that place is still ahead, and never again
    /// where its own score would put it.
    fn lift<'a>(
        index: &'a wikidex_indexer::Index,
        boost: Option<Boost>,
        after: Option<u32>,
        rows: impl Iterator<Item = u32> + 'a,
    ) -> impl Iterator<Item = u32> + 'a {
        let mut pending = boost.filter(|b| after.is_none_or(|a| Boost::after_key(index, boost, a) > b.key));
        let mut rows = rows.filter(move |&row| boost.is_none_or(|b| b.row != row)).peekable();
        std::iter::from_fn(move || {
            if let Some(b) = pending
                && rows.peek().is_none_or(|&next| index.rank_key(next) < b.key)
            {
                pending = None;
                return Some(b.row);
            }
            rows.next()
        })
    }
}

/// The first row of the title whose fold is `folded` exactly, the best
/// linked of the first few if several fold alike (`NYC`, `Nyc`).
fn folded_title_row(index: &wikidex_indexer::Index, folded: &str) -> Option<u32> {
    let mut titles = index.folded_prefix(folded, None)?;
    let mut title = Vec::new();
    let mut best: Option<(u32, u32)> = None;
    for _ in 0..8 {
        let Some(rows) = titles.next_title(&mut title) else { break };
        if std::str::from_utf8(&title).map_or(true, |t| fold(t) != folded) {
            break;
        }
        let score = page_score(index, rows.start);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, rows.start));
        }
    }
    best.map(|(_, row)| row)
}

/// Whether [`by_page`] reorders the whole group `ranked` (which should
/// then be asked for all of its rows at once).
fn by_page_whole(q: &OffsetsQuery, ranked: &wikidex_indexer::Ranked<'_>) -> bool {
    q.distinct && ranked.span().len() <= SCAN_ROWS
}

/// Whether a title can start with both `head` and `prefix`: one extends
/// the other.
fn agree(head: &str, prefix: &str) -> bool {
    head.starts_with(prefix) || prefix.starts_with(head)
}

/// [`select`] for `order=rank`: the exact-prefix rows by score, then (for
/// `match=folded|fuzzy`) the other folded-prefix rows by score, then the
/// typo-tolerant ones by score. `after=` names a title listed before; the
/// listing continues after it in its group.
fn select_ranked(state: &AppState, q: &OffsetsQuery, out: &mut Rows<'_>) -> Result<(), ApiError> {
    let index = &state.index;
    let after = match &q.after {
        Some(t) => match index.rows_of(t.as_bytes()) {
            rows if rows.is_empty() => {
                return Err(ApiError::BadRequest(format!(
                    "after= with order=rank names a title of an earlier page, and {t:?} is no title of this index"
                )));
            }
            rows => Some(rows.start),
        },
        None => None,
    };
    let mut title = Vec::with_capacity(64);
    let copy = out.copies_rows();
    let mut take = |row: u32, out: &mut Rows<'_>| -> Result<bool, ApiError> {
        if copy {
            return out.copy_row(row);
        }
        if !index.title_of(row, &mut title) {
            return Err(damaged_title_column());
        }
        out.title(&title, row..row + 1)
    };
    // `ns=` filters inside the ranking's scans, so a namespace with few
    // rows under a big prefix costs one pass over its span, not one per
    // batch of rows the filter then drops.
    // The titles of namespaces not asked for (`Talk:` under `Ta`, ns=0)
    // are passed over as spans.
    let in_namespaces = |row: u32| q.namespaces.as_ref().is_none_or(|ns| ns.contains(&index.namespace(row)));
    let keep: Option<&(dyn Fn(u32) -> bool + Sync)> = q.namespaces.as_ref().map(|_| &in_namespaces as _);
    let (skip_exact, skip_folded) = (q.other_heads(state, false), q.other_heads(state, true));
    let exact_filter = Filter { keep, skip: &skip_exact };
    // The exact group; its span (rows) is what the folded group leaves out.
    let prefix = q.narrowed_prefix(state, false);
    let mut ranked = index.ranked_prefix(prefix.as_bytes(), exact_filter, None, q.limit);
    let exact = ranked.span();
    let after_exact = after.filter(|r| exact.contains(r));
    // A group reordered by page is read whole, and skips to `after=` in
    // that order; any other starts after it, and may lift the prefix's
    // own title (a redirect) to its page's place.
    let whole = by_page_whole(q, &ranked);
    let boost = (q.distinct && !whole)
        .then(|| index.rows_of(q.prefix.as_bytes()))
        .filter(|own| !own.is_empty() && exact.contains(&own.start))
        .and_then(|own| Boost::of(index, own.start, keep));
    if after_exact.is_some() || whole {
        let (from, want) = if whole { (None, SCAN_ROWS) } else { (after_exact, q.limit) };
        let from = from.map(|row| Boost::after_key(index, boost, row));
        ranked = index.ranked_prefix(prefix.as_bytes(), exact_filter, from, want);
    }
    if (after.is_none() || after_exact.is_some()) && q.namespaces_may_match(state, false) {
        let rows = by_page(index, q, ranked, after_exact.filter(|_| whole));
        for row in Boost::lift(index, boost, after_exact, rows) {
            if !take(row, out)? {
                return Ok(());
            }
        }
    }
    if q.mode == MatchMode::Exact {
        return Ok(());
    }
    let folded = fold(&q.prefix);
    let after_folded = after.filter(|_| after_exact.is_none());
    let narrowed = q.narrowed_prefix(state, true);
    let folded_filter = Filter { keep, skip: &skip_folded };
    let ranked_folded = |from, want| {
        index.ranked_folded(&narrowed, exact.clone(), folded_filter, from, want).expect("checked has_folded")
    };
    let mut folded_rows = ranked_folded(None, q.limit);
    let whole = by_page_whole(q, &folded_rows);
    let boost = (q.distinct && !whole && narrowed == folded)
        .then(|| folded_title_row(index, &folded).filter(|row| !exact.contains(row)))
        .flatten()
        .and_then(|row| Boost::of(index, row, keep));
    if after_folded.is_some() || whole {
        let (from, want) = if whole { (None, SCAN_ROWS) } else { (after_folded, q.limit) };
        folded_rows = ranked_folded(from.map(|row| Boost::after_key(index, boost, row)), want);
    }
    let may_match = q.namespaces_may_match(state, true);
    let rows = by_page(index, q, folded_rows, after_folded.filter(|_| whole));
    for row in Boost::lift(index, boost, after_folded, rows).take_while(|_| may_match) {
        if !take(row, out)? {
            return Ok(());
        }
    }
    let typos = typo_budget(folded.chars().count());
    if q.mode != MatchMode::Fuzzy || typos == 0 || folded.len() > FUZZY_MAX_BYTES {
        return Ok(());
    }
    // Typo-tolerant matches that are no folded-prefix match, ranked among
    // themselves: the first FUZZY_RANKED found (in folded order, within
    // the time budget), then sorted. A typo of a short common prefix
    // matches a good part of the index; ranking all of it would take the
    // whole budget on every keystroke.
    let mut found: Vec<u64> = Vec::new();
    each_typo_match(index, &folded, typos, &mut HashSet::new(), &q.typo_skip(state), |_, range| {
        // Rows the filter refuses take no place among those ranked.
        let kept = range.filter(|&row| keep.is_none_or(|keep| keep(row)));
        found.extend(kept.map(|row| wikidex_indexer::rank::rank_key(index.score(row), row)));
        Ok(found.len() < FUZZY_RANKED)
    })?;
    found.sort_unstable_by(|a, b| b.cmp(a));
    for key in found {
        if !take(wikidex_indexer::rank::row_of_key(key), out)? {
            break;
        }
    }
    Ok(())
}

/// Where accepted rows go.
enum Output {
    /// `[[title, start, end, …fields], …]`, without the closing `]` until
    /// [`Rows::finish`].
    Json(Vec<u8>),
    /// Just the titles.
    Titles(Vec<String>),
}

/// Accumulates response rows, applying the namespace filter, redirect
/// resolution, the limit and the scan budget.
struct Rows<'a> {
    state: &'a AppState,
    q: &'a OffsetsQuery,
    out: Output,
    n: usize,
    examined: usize,
    resolved: HashSet<u32>,
}

impl<'a> Rows<'a> {
    fn new(state: &'a AppState, q: &'a OffsetsQuery, mut out: Output) -> Rows<'a> {
        if let Output::Json(json) = &mut out {
            json.push(b'[');
        }
        Rows { state, q, out, n: 0, examined: 0, resolved: HashSet::new() }
    }

    fn full(&self) -> bool {
        self.n >= self.q.limit || self.examined >= SCAN_BUDGET
    }

    /// Whether rows go out as the index wrote them (`rows.jsf`): JSON
    /// wanted, and nothing that changes or drops a row.
    fn copies_rows(&self) -> bool {
        matches!(self.out, Output::Json(_))
            && self.q.fields.is_empty()
            && self.q.namespaces.is_none()
            && !self.q.resolve
            && self.state.index.has_json_rows()
    }

    /// Adds `row` as `rows.jsf` holds it (see [`Rows::copies_rows`]);
    /// false once no more rows are wanted.
    fn copy_row(&mut self, row: u32) -> Result<bool, ApiError> {
        let Output::Json(out) = &mut self.out else { unreachable!("copies_rows checked the output") };
        let fragment = self.state.index.json_rows(row..row + 1).ok_or_else(damaged_title_column)?;
        if self.n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(fragment.strip_suffix(b",").unwrap_or(fragment));
        self.n += 1;
        self.examined += 1;
        Ok(!self.full())
    }

    /// Adds the rows of one title; false once no more rows are wanted.
    fn title(&mut self, title: &[u8], rows: Range<u32>) -> Result<bool, ApiError> {
        let index = &self.state.index;
        for row in rows {
            if self.full() {
                return Ok(false);
            }
            self.examined += 1;
            let page = index.page(row);
            if let Some(ns) = &self.q.namespaces
                && !ns.contains(&page.ns)
            {
                continue;
            }
            if self.q.distinct && !self.q.resolve {
                let page = resolve_row(index, row).unwrap_or(row);
                if !self.resolved.insert(page) {
                    continue;
                }
            }
            if self.q.resolve {
                let Ok(target) = resolve_page(index, page) else { continue };
                if !self.resolved.insert(target.row) {
                    continue;
                }
                if target.row != page.row {
                    let mut name = Vec::new();
                    if !index.title_of(target.row, &mut name) {
                        return Err(damaged_title_column());
                    }
                    self.row(&name, &target)?;
                    continue;
                }
            }
            self.row(title, &page)?;
        }
        Ok(!self.full())
    }

    fn row(&mut self, title: &[u8], page: &Page) -> Result<(), ApiError> {
        let out = match &mut self.out {
            Output::Json(json) => json,
            Output::Titles(titles) => {
                titles.push(utf8(title)?.to_string());
                self.n += 1;
                return Ok(());
            }
        };
        // `,["title",start,end` and `]`: title, two u64s and punctuation.
        out.reserve(title.len() + 48);
        if self.n > 0 {
            out.push(b',');
        }
        out.push(b'[');
        push_json_string(out, title)?;
        out.push(b',');
        out.extend_from_slice(itoa::Buffer::new().format(page.start).as_bytes());
        out.push(b',');
        out.extend_from_slice(itoa::Buffer::new().format(page.end).as_bytes());
        if !self.q.fields.is_empty() {
            write_fields(self.state, page, &self.q.fields, out)?;
        }
        out.push(b']');
        self.n += 1;
        Ok(())
    }

    fn finish(mut self) -> Output {
        if let Output::Json(json) = &mut self.out {
            json.push(b']');
        }
        self.out
    }
}

/// A title as UTF-8, or the error a damaged index deserves.
fn utf8(title: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(title)
        .map_err(|_| ApiError::Unavailable("the index holds a title that is not UTF-8; rebuild it".into()))
}

/// Appends `title` as a JSON string. Nearly every title has nothing to
/// escape: a pass the compiler vectorizes finds that out, and such a title
/// is copied whole, after UTF-8 validation only if it has non-ASCII bytes.
/// Titles with quotes, backslashes or control characters are escaped by
/// serde_json.
fn push_json_string(out: &mut Vec<u8>, title: &[u8]) -> Result<(), ApiError> {
    let escape = title.iter().fold(false, |seen, &b| seen | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if escape {
        serde_json::to_writer(&mut *out, utf8(title)?).expect("writing to a Vec cannot fail");
        return Ok(());
    }
    if !title.is_ascii() {
        utf8(title)?;
    }
    out.push(b'"');
    out.extend_from_slice(title);
    out.push(b'"');
    Ok(())
}

/// Follows `page`'s redirects like `/wiki` does (at most 5 hops).
fn resolve_page(index: &wikidex_indexer::Index, page: Page) -> Result<Page, ()> {
    match resolve_row(index, page.row)? {
        row if row == page.row => Ok(page),
        row => Ok(index.page(row)),
    }
}

/// The row the page at `row` leads to, following redirects like `/wiki`
/// does (at most [`MAX_HOPS`](super::wiki::MAX_HOPS)), reading the
/// redirect column alone; `Err` for a redirect to a missing page, a loop
/// or too many hops.
fn resolve_row(index: &wikidex_indexer::Index, row: u32) -> Result<u32, ()> {
    let mut at = row;
    for _ in 0..=super::wiki::MAX_HOPS {
        match index.redirect(at) {
            Redirect::None => return Ok(at),
            Redirect::To(next) if next != at => at = next,
            _ => return Err(()),
        }
    }
    Err(())
}

/// The 503 for a row whose title the index cannot give back.
fn damaged_title_column() -> ApiError {
    ApiError::Unavailable("the index cannot give back a title (damaged?); run `wikidex verify`".into())
}

/// Appends the asked-for `fields` of `page`, all read from the index.
fn write_fields(state: &AppState, page: &Page, fields: &[Field], out: &mut Vec<u8>) -> Result<(), ApiError> {
    for f in fields {
        out.push(b',');
        match f {
            Field::Ns => out.extend_from_slice(itoa::Buffer::new().format(page.ns).as_bytes()),
            Field::Redirect => {
                let mut target = Vec::new();
                if state.index.redirect_target(page.row, &mut target) {
                    push_json_string(out, &target)?;
                } else if page.redirect == Redirect::None {
                    out.extend_from_slice(b"null");
                } else {
                    return Err(damaged_title_column());
                }
            }
            Field::Id => match state.index.page_id(page.row) {
                Some(id) => out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes()),
                None => out.extend_from_slice(b"null"),
            },
            Field::Score => {
                out.extend_from_slice(itoa::Buffer::new().format(state.index.score(page.row)).as_bytes())
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_what_serde_json_writes() {
        let titles = [
            "Python",
            "",
            "A \"quoted\" title",
            "Back\\slash",
            "tab\there",
            "\u{1}",
            "Ångström",
            "北京",
            "a/b",
            "~~\u{7f}",
            "emoji 🐍",
            "\"",
            "\\",
            "\"\"\\\"",
            "end\"",
            "Łódź \"Awesome\" Airport",
            "\u{1f}\"",
        ];
        for title in titles {
            let mut out = Vec::new();
            push_json_string(&mut out, title.as_bytes()).unwrap();
            assert_eq!(out, serde_json::to_vec(title).unwrap(), "{title:?}");
        }
        let mut out = Vec::new();
        assert!(push_json_string(&mut out, b"bad \xff utf-8").is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(
            title in proptest::prop_oneof![proptest::arbitrary::any::<String>(), "[a\"\\\\\u{0}-\u{1f} é]{0,40}"],
        ) {
            let mut out = Vec::new();
            push_json_string(&mut out, title.as_bytes()).unwrap();
            proptest::prop_assert_eq!(out, serde_json::to_vec(&title).unwrap());
        }
    }

    #[test]
    fn limits() {
        for ok in ["1", "10", "010", "10000"] {
            assert!(parse_limit(ok, 10_000).is_ok(), "{ok}");
        }
        for bad in ["0", "-1", "", "abc", "1e9", "10001", " 5", "+5", "5.0", "99999999999999999999999"] {
            assert!(parse_limit(bad, 10_000).is_err(), "{bad}");
        }
    }

    #[test]
    fn fields() {
        assert_eq!(parse_fields("ns,redirect,id").unwrap(), vec![Field::Ns, Field::Redirect, Field::Id]);
        assert_eq!(parse_fields("id").unwrap(), vec![Field::Id]);
        assert!(parse_fields("ns,ns").is_err());
        assert!(parse_fields("title").is_err());
    }
}
