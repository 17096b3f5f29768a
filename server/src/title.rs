//! MediaWiki title normalization for exact lookups: the first-letter rule.

use crate::request::uppercase_first;
use wikidex_indexer::SiteInfo;

/// The title MediaWiki would look up for `title` on a `first-letter` wiki:
/// a known namespace prefix (matched case-insensitively) takes its canonical
/// spelling, and the first letter of the rest is uppercased when that
/// namespace is `first-letter`. `None` when the wiki is case-sensitive or
/// the title would not change.
///
/// ```
/// use wikidex_indexer::format::{Namespace, SiteInfo};
/// use wikidex_server::title::first_letter_variant;
/// let ns = |key, name: &str| Namespace { key, case: "first-letter".into(), name: name.into() };
/// let site = SiteInfo { namespaces: vec![ns(0, ""), ns(1, "Talk")], ..SiteInfo::default() };
/// assert_eq!(first_letter_variant(&site, "talk:foo").as_deref(), Some("Talk:Foo"));
/// assert_eq!(first_letter_variant(&site, "zürich").as_deref(), Some("Zürich"));
/// assert_eq!(first_letter_variant(&site, "Zürich"), None);
/// ```
pub fn first_letter_variant(site: &SiteInfo, title: &str) -> Option<String> {
    if !site.first_letter() {
        return None;
    }
    let (ns, rest) = match title.split_once(':') {
        Some((prefix, rest)) => match site.namespace_named(prefix.trim()) {
            Some(ns) => (Some(ns), rest.trim_start()),
            None => (None, title),
        },
        None => (None, title),
    };
    let candidate = match ns {
        Some(ns) if ns.case == "first-letter" => format!("{}:{}", ns.name, uppercase_first(rest)),
        Some(ns) => format!("{}:{rest}", ns.name),
        None => {
            let main_case_sensitive = site.namespace(0).is_some_and(|n| n.case == "case-sensitive");
            if main_case_sensitive { title.to_string() } else { uppercase_first(title) }
        }
    };
    (candidate != title).then_some(candidate)
}
