//! MediaWiki's title length rule, which needs the dump's namespaces.
//!
//! MediaWiki stores a page's namespace apart from its `page_title` and
//! limits only the latter to [`MAX_TITLE_BYTES`], so `Wikipedia:` followed
//! by 255 bytes is a legal title of 265. The dump writes titles with their
//! prefix; [`TitleRules`] strips the prefix of the page's `<ns>` (or, for a
//! redirect target, whose namespace the dump does not give, any prefix
//! naming a namespace of `<siteinfo>`) before measuring.

use crate::format::{MAX_TITLE_BYTES, SiteInfo};

/// The namespace prefixes of one dump, for checking title lengths.
///
/// ```
/// use wikidex_indexer::format::{Namespace, SiteInfo};
/// use wikidex_indexer::scan::TitleRules;
/// let site = SiteInfo {
///     namespaces: vec![Namespace { key: 4, case: "first-letter".into(), name: "Wikipedia".into() }],
///     ..SiteInfo::default()
/// };
/// let rules = TitleRules::new(&site);
/// let long = format!("Wikipedia:{}", "x".repeat(255));
/// assert!(rules.check_title(4, &long).is_ok());
/// assert!(rules.check_title(0, &long).is_err());
/// assert!(rules.check_target(&long).is_ok());
/// ```
#[derive(Debug, Clone, Default)]
pub struct TitleRules {
    site: SiteInfo,
}

impl TitleRules {
    /// The rules of a dump with this `<siteinfo>`.
    pub fn new(site: &SiteInfo) -> TitleRules {
        TitleRules { site: site.clone() }
    }

    /// Checks the title of a page in namespace `ns`: at most
    /// [`MAX_TITLE_BYTES`] after that namespace's prefix.
    pub fn check_title(&self, ns: i32, title: &str) -> Result<(), String> {
        if title.len() <= MAX_TITLE_BYTES {
            return Ok(());
        }
        let part = self
            .site
            .namespace(ns)
            .filter(|n| !n.name.is_empty())
            .and_then(|n| title.strip_prefix(n.name.as_str())?.strip_prefix(':'))
            .unwrap_or(title);
        too_long(title, part, "title")
    }

    /// Checks a redirect target: at most [`MAX_TITLE_BYTES`] after a
    /// prefix that names one of the dump's namespaces.
    pub fn check_target(&self, target: &str) -> Result<(), String> {
        if target.len() <= MAX_TITLE_BYTES {
            return Ok(());
        }
        let part = target
            .split_once(':')
            .filter(|(name, _)| self.site.namespace_named(name.trim()).is_some())
            .map_or(target, |(_, rest)| rest.trim_start());
        too_long(target, part, "redirect target")
    }
}

fn too_long(whole: &str, part: &str, what: &str) -> Result<(), String> {
    if part.len() <= MAX_TITLE_BYTES {
        return Ok(());
    }
    let after = if part.len() < whole.len() { " after its namespace prefix" } else { "" };
    Err(format!(
        "{what} is {} bytes long{after}; MediaWiki titles are at most {MAX_TITLE_BYTES} bytes after a namespace prefix",
        part.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Namespace;

    fn rules() -> TitleRules {
        let ns = |key, name: &str| Namespace { key, case: "first-letter".into(), name: name.into() };
        TitleRules::new(&SiteInfo {
            namespaces: vec![
                ns(0, ""),
                ns(1, "Talk"),
                ns(4, "Wikipedia"),
                ns(10, "Template"),
                ns(14, "Category"),
            ],
            ..SiteInfo::default()
        })
    }

    #[test]
    fn the_limit_applies_after_the_namespace_prefix() {
        let r = rules();
        for ch in ["a", "é", "東", "😀"] {
            let part = ch.repeat(255 / ch.len());
            for (ns, name) in [(1, "Talk"), (4, "Wikipedia"), (10, "Template"), (14, "Category")] {
                let title = format!("{name}:{part}");
                assert!(r.check_title(ns, &title).is_ok(), "{title}");
                assert!(r.check_target(&title).is_ok(), "{title}");
                assert!(r.check_target(&format!("{}:{part}", name.to_lowercase())).is_ok());
                let over = format!("{title}{}", "x".repeat(256 - part.len()));
                assert!(r.check_title(ns, &over).unwrap_err().contains("256 bytes"), "{over}");
                assert!(r.check_target(&over).is_err());
            }
        }
    }

    #[test]
    fn a_prefix_of_another_namespace_or_none_counts_in_full() {
        let r = rules();
        let long = format!("Talk:{}", "a".repeat(255));
        assert!(r.check_title(0, &long).is_err(), "main-namespace page: the colon is part of its title");
        assert!(r.check_title(4, &long).is_err(), "not this page's namespace");
        assert!(r.check_target(&format!("Fr:{}", "a".repeat(255))).is_err(), "Fr is no namespace here");
        assert!(r.check_title(0, &"a".repeat(255)).is_ok());
        assert!(TitleRules::default().check_title(4, &format!("Wikipedia:{}", "a".repeat(255))).is_err());
    }
}
