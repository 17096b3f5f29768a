//! `GET /offsets/{prefix}[?limit=N&after=T&fields=ns,redirect,id]`: titles
//! starting with a prefix, with their byte ranges, in title order.

use super::path_rest;
use crate::error::ApiError;
use crate::request::{decode_path_title, parse_query, single};
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
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
}

/// Parses `fields=ns,redirect,id` (any order, no repeats).
pub fn parse_fields(value: &str) -> Result<Vec<Field>, ApiError> {
    let mut fields = Vec::new();
    for name in value.split(',').filter(|s| !s.is_empty()) {
        let f = match name {
            "ns" => Field::Ns,
            "redirect" => Field::Redirect,
            "id" => Field::Id,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown field {other:?} in fields=; known fields are ns, redirect, id"
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

/// The handler.
pub async fn offsets(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let prefix = decode_path_title(path_rest(&req, "/offsets"))?;
    if prefix.is_empty() {
        return Err(ApiError::BadRequest(
            "empty prefix: ask for /offsets/{prefix}, e.g. /offsets/Pyth".into(),
        ));
    }
    let query = parse_query(req.query_string())?;
    let limit = match single(&query, "limit")? {
        Some(v) => parse_limit(v, state.config.max_limit)?,
        None => state.config.default_limit(),
    };
    let after = single(&query, "after")?.map(|a| a.replace('_', " "));
    let fields = match single(&query, "fields")? {
        Some(v) => parse_fields(v)?,
        None => Vec::new(),
    };
    let body = render(&state, &prefix, after.as_deref(), limit, &fields)?;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

/// `[[title, start, end, …fields], …]` for at most `limit` rows.
fn render(
    state: &AppState,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    fields: &[Field],
) -> Result<Vec<u8>, ApiError> {
    let index = &state.index;
    let mut out = Vec::with_capacity(2 + 48 * limit.min(128));
    out.push(b'[');
    let mut rows = index.prefix(prefix.as_bytes(), after.map(str::as_bytes));
    let mut title = Vec::with_capacity(64);
    let mut n = 0;
    'titles: while let Some(range) = rows.next_title(&mut title) {
        let text = std::str::from_utf8(&title).map_err(|_| {
            ApiError::Unavailable("the index holds a title that is not UTF-8; rebuild it".into())
        })?;
        for row in range {
            if n == limit {
                break 'titles;
            }
            if n > 0 {
                out.push(b',');
            }
            let page = index.page(row);
            out.push(b'[');
            serde_json::to_writer(&mut out, text).expect("writing to a Vec cannot fail");
            out.push(b',');
            out.extend_from_slice(itoa::Buffer::new().format(page.start).as_bytes());
            out.push(b',');
            out.extend_from_slice(itoa::Buffer::new().format(page.end).as_bytes());
            if !fields.is_empty() {
                write_fields(state, &page, fields, &mut out)?;
            }
            out.push(b']');
            n += 1;
        }
    }
    out.push(b']');
    Ok(out)
}

fn write_fields(state: &AppState, page: &Page, fields: &[Field], out: &mut Vec<u8>) -> Result<(), ApiError> {
    let needs_header =
        fields.contains(&Field::Id) || (fields.contains(&Field::Redirect) && page.redirect != Redirect::None);
    let header = if needs_header { Some(read_header(state, page)?) } else { None };
    for f in fields {
        out.push(b',');
        match f {
            Field::Ns => out.extend_from_slice(itoa::Buffer::new().format(page.ns).as_bytes()),
            Field::Redirect => match header.as_ref().and_then(|h| h.redirect.as_deref()) {
                Some(target) => serde_json::to_writer(&mut *out, target).expect("Vec write"),
                None => out.extend_from_slice(b"null"),
            },
            Field::Id => match header.as_ref().and_then(|h| h.id) {
                Some(id) => out.extend_from_slice(itoa::Buffer::new().format(id).as_bytes()),
                None => out.extend_from_slice(b"null"),
            },
        }
    }
    Ok(())
}

/// The header fields of `page`, read from the dump.
pub struct Header {
    /// Page id.
    pub id: Option<u64>,
    /// Redirect target.
    pub redirect: Option<String>,
}

/// Reads and parses the first few KiB of a page (title, ns, id, redirect).
pub fn read_header(state: &AppState, page: &Page) -> Result<Header, ApiError> {
    let len = page.len().min(8192) as usize;
    let mut buf = vec![0u8; len];
    state.dump.check()?;
    state.dump.read_exact_at(&mut buf, page.start)?;
    let h = wikidex_indexer::scan::parse_header(&buf, 0).map_err(|e| {
        ApiError::Unavailable(format!(
            "the dump does not match the index at byte {}: {}",
            page.start + e.offset,
            e.message
        ))
    })?;
    Ok(Header { id: h.id, redirect: h.redirect.map(|r| r.into_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

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
