//! Product descriptions: stored as the vendor's plain Markdown source, shown as HTML from a small
//! safe subset.
//!
//! The subset is what a product page needs: paragraphs and line breaks, **bold** and *italic*,
//! bulleted and numbered lists, `inline code` and code blocks, headings (levels 1–2 shown as
//! level 3, since the page's own title and sections own the top levels; 5–6 as level 4) and links
//! to `http` or `https` addresses. The renderer writes only the tags it knows, from CommonMark
//! events, and escapes every piece of text, so the output is safe by construction rather than by
//! filtering HTML afterwards:
//! - raw HTML (blocks and inline tags) is shown as the text it is;
//! - character references such as `&lt;` or `&copy;` are shown as written, so no reference can
//!   smuggle in a character the vendor could not type visibly;
//! - a link to anything but `http(s)` (`javascript:`, `data:`, `mailto:`, relative) shows only its
//!   text; images show their alt text and never load; link titles are dropped;
//! - block quotes keep their content without the quote; rules, tables and the like are not
//!   enabled in the parser and stay plain text.

use std::fmt;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;
use crate::values::is_invisible_formatting;

/// The longest description, in characters of the source.
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;

/// A product description: Markdown source that passed [`description`]'s checks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, description = "Markdown source, at most 10,000 characters", example = "Soft **organic cotton**.\n\n- machine washable\n- made in Portugal")]
pub struct Description(String);

/// Checks a description: line endings become `\n`, surrounding whitespace is trimmed, at most
/// [`MAX_DESCRIPTION_CHARS`] characters remain, and no control character other than a newline or
/// a tab, nor any invisible formatting character, is present. An empty description is allowed.
pub fn description(field: &str, raw: &str) -> Result<Description, FieldError> {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    let len = text.chars().count();
    if len > MAX_DESCRIPTION_CHARS {
        return Err(FieldError::new(field, format!("must be at most {MAX_DESCRIPTION_CHARS} characters, not {len}")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldError::new(field, "must not contain control characters other than newlines and tabs"));
    }
    if text.chars().any(is_invisible_formatting) {
        return Err(FieldError::new(
            field,
            "must not contain invisible formatting characters (bidirectional controls, zero-width characters)",
        ));
    }
    Ok(Description(text.to_string()))
}

impl Description {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn render_html(&self) -> String {
        render_html(&self.0)
    }
}

impl TryFrom<String> for Description {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        description("description", &s).map_err(|e| e.message)
    }
}

impl From<Description> for String {
    fn from(d: Description) -> Self {
        d.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Escapes text for HTML content and for double- or single-quoted attribute values alike.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// An absolute `http` or `https` address with something after the scheme and nothing that could
/// end the attribute or hide in it (whitespace, control characters).
fn is_safe_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return false;
    };
    !rest.is_empty() && !rest.starts_with('/') && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn heading_tag(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 | HeadingLevel::H2 | HeadingLevel::H3 => "h3",
        HeadingLevel::H4 | HeadingLevel::H5 | HeadingLevel::H6 => "h4",
    }
}

/// Renders Markdown source to the safe HTML subset described in the module documentation.
pub fn render_html(source: &str) -> String {
    let mut out = String::with_capacity(source.len() * 3 / 2);
    // For each open link, whether it was written as an anchor (and needs closing).
    let mut links: Vec<bool> = Vec::new();
    for (event, range) in Parser::new_ext(source, Options::empty()).into_offset_iter() {
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph | Tag::HtmlBlock => out.push_str("<p>"),
                Tag::Heading { level, .. } => {
                    out.push('<');
                    out.push_str(heading_tag(level));
                    out.push('>');
                }
                Tag::CodeBlock(_) => out.push_str("<pre><code>"),
                Tag::List(None) => out.push_str("<ul>\n"),
                Tag::List(Some(1)) => out.push_str("<ol>\n"),
                Tag::List(Some(start)) => out.push_str(&format!("<ol start=\"{start}\">\n")),
                Tag::Item => out.push_str("<li>"),
                Tag::Emphasis => out.push_str("<em>"),
                Tag::Strong => out.push_str("<strong>"),
                Tag::Link { dest_url, .. } => {
                    let safe = is_safe_link(&dest_url);
                    if safe {
                        out.push_str("<a href=\"");
                        escape_into(&mut out, &dest_url);
                        out.push_str("\" rel=\"nofollow ugc noopener noreferrer\">");
                    }
                    links.push(safe);
                }
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph | TagEnd::HtmlBlock => out.push_str("</p>\n"),
                TagEnd::Heading(level) => {
                    out.push_str("</");
                    out.push_str(heading_tag(level));
                    out.push_str(">\n");
                }
                TagEnd::CodeBlock => out.push_str("</code></pre>\n"),
                TagEnd::List(true) => out.push_str("</ol>\n"),
                TagEnd::List(false) => out.push_str("</ul>\n"),
                TagEnd::Item => out.push_str("</li>\n"),
                TagEnd::Emphasis => out.push_str("</em>"),
                TagEnd::Strong => out.push_str("</strong>"),
                TagEnd::Link => out.push_str(if links.pop() == Some(true) { "</a>" } else { "" }),
                _ => {}
            },
            Event::Text(text) => {
                // A character reference arrives decoded; show what the vendor wrote instead.
                let written = &source[range];
                let is_reference = written.starts_with('&') && written.ends_with(';') && written != &*text;
                escape_into(&mut out, if is_reference { written } else { &text });
            }
            Event::Code(code) => {
                out.push_str("<code>");
                escape_into(&mut out, &code);
                out.push_str("</code>");
            }
            Event::Html(html) | Event::InlineHtml(html) => escape_into(&mut out, &html),
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br>\n"),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(source: &str) -> String {
        render_html(source)
    }

    /// Every tag the renderer may write; anything else in the output would be a hole.
    const ALLOWED_TAGS: [&str; 12] = ["p", "br", "strong", "em", "ul", "ol", "li", "a", "h3", "h4", "pre", "code"];

    fn assert_only_allowed_tags(output: &str) {
        for (i, _) in output.match_indices('<') {
            let tag = &output[i + 1..];
            let closing = tag.starts_with('/');
            let name: String = tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(ALLOWED_TAGS.contains(&name.as_str()), "tag <{name}> in {output}");
            if name == "a" && !closing {
                assert!(tag.starts_with("a href=\"http"), "{output}");
            }
        }
    }

    #[test]
    fn the_subset_renders_to_its_html() {
        assert_eq!(html("Soft **organic** *cotton*."), "<p>Soft <strong>organic</strong> <em>cotton</em>.</p>\n");
        assert_eq!(html("one\ntwo  \nthree"), "<p>one\ntwo<br>\nthree</p>\n");
        assert_eq!(html("first\n\nsecond"), "<p>first</p>\n<p>second</p>\n");
        assert_eq!(html("- a\n- b"), "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
        assert_eq!(html("1. a\n2. b"), "<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n");
        assert_eq!(html("3. c\n4. d"), "<ol start=\"3\">\n<li>c</li>\n<li>d</li>\n</ol>\n");
        assert_eq!(html("### Care\n#### Washing"), "<h3>Care</h3>\n<h4>Washing</h4>\n");
        assert_eq!(html("Use `30°C`"), "<p>Use <code>30°C</code></p>\n");
        assert_eq!(
            html("[Size guide](https://example.com/sizes?a=1&b=2)"),
            "<p><a href=\"https://example.com/sizes?a=1&amp;b=2\" rel=\"nofollow ugc noopener noreferrer\">Size guide</a></p>\n"
        );
        assert_eq!(
            html("<https://example.com>"),
            "<p><a href=\"https://example.com\" rel=\"nofollow ugc noopener noreferrer\">https://example.com</a></p>\n"
        );
    }

    #[test]
    fn top_level_headings_are_demoted_below_the_pages_own() {
        assert_eq!(html("# Big\n## Bigger\n##### Small"), "<h3>Big</h3>\n<h3>Bigger</h3>\n<h4>Small</h4>\n");
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        assert_eq!(html("<script>alert(1)</script>"), "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
        assert_eq!(html("a <b onclick=\"x()\">b</b>"), "<p>a &lt;b onclick=&quot;x()&quot;&gt;b&lt;/b&gt;</p>\n");
        assert_eq!(html("<!-- hidden -->"), "<p>&lt;!-- hidden --&gt;</p>\n");
        let out = html("<div>\n<iframe src=x></iframe>\n</div>");
        assert!(out.contains("&lt;iframe src=x&gt;"), "{out}");
        assert_only_allowed_tags(&out);
    }

    #[test]
    fn character_references_are_shown_as_written() {
        assert_eq!(html("AT&amp;T &copy; 2026"), "<p>AT&amp;amp;T &amp;copy; 2026</p>\n");
        assert_eq!(html("&lt;script&gt;"), "<p>&amp;lt;script&amp;gt;</p>\n");
        assert_eq!(html("&#x3C;img&#60;"), "<p>&amp;#x3C;img&amp;#60;</p>\n");
        assert_eq!(html("fish & chips"), "<p>fish &amp; chips</p>\n");
        assert_eq!(html("a &nosuch; b"), "<p>a &amp;nosuch; b</p>\n");
    }

    #[test]
    fn links_to_anything_but_http_show_only_their_text() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java&#x09;script:alert(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:x",
            "mailto:a@example.com",
            "/relative",
            "//evil.example.com",
            "http:///x",
            "https:",
            "ftp://example.com",
        ] {
            let out = html(&format!("[click]({url})"));
            assert_eq!(out, "<p>click</p>\n", "{url}");
        }
        // an autolink with another scheme is still a link in CommonMark, so it loses its anchor too
        assert_eq!(html("<javascript:alert(1)>"), "<p>javascript:alert(1)</p>\n");
        assert_eq!(html("<a@example.com>"), "<p>a@example.com</p>\n");
        assert_eq!(
            html("[x](HTTPS://EXAMPLE.COM \"title\")"),
            "<p><a href=\"HTTPS://EXAMPLE.COM\" rel=\"nofollow ugc noopener noreferrer\">x</a></p>\n"
        );
    }

    #[test]
    fn a_link_address_cannot_break_out_of_its_attribute() {
        let out = html("[x](<https://e.com/\"onmouseover=alert(1)>)");
        assert!(out.contains("href=\"https://e.com/&quot;onmouseover=alert(1)\""), "{out}");
        let out = html("[x](https://e.com/'><script>)");
        assert!(!out.contains("<script"), "{out}");
        assert_only_allowed_tags(&out);
    }

    #[test]
    fn images_show_their_alt_text_and_never_load() {
        assert_eq!(html("![a red shirt](https://example.com/a.png)"), "<p>a red shirt</p>\n");
        assert_eq!(html("![x](javascript:alert(1))"), "<p>x</p>\n");
        assert_eq!(
            html("[![logo](https://e.com/l.png)](https://e.com)"),
            "<p><a href=\"https://e.com\" rel=\"nofollow ugc noopener noreferrer\">logo</a></p>\n"
        );
    }

    #[test]
    fn quotes_rules_and_tables_lose_their_markup_not_their_words() {
        assert_eq!(html("> quoted"), "<p>quoted</p>\n");
        assert_eq!(html("a\n\n---\n\nb"), "<p>a</p>\n<p>b</p>\n");
        assert_eq!(html("| a | b |\n|---|---|\n| 1 | 2 |"), "<p>| a | b |\n|---|---|\n| 1 | 2 |</p>\n");
        assert_eq!(html("~~gone~~"), "<p>~~gone~~</p>\n");
    }

    #[test]
    fn code_blocks_are_escaped_and_keep_no_language_class() {
        assert_eq!(html("```html\n<b>x</b>\n```"), "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n");
    }

    #[test]
    fn hostile_and_pathological_input_only_ever_yields_allowed_tags() {
        let pieces = [
            "<",
            ">",
            "&",
            "\"",
            "'",
            "[",
            "]",
            "(",
            ")",
            "!",
            "*",
            "_",
            "`",
            "\n",
            "\n\n",
            "- ",
            "1. ",
            "# ",
            "> ",
            "<a href=x>",
            "javascript:",
            "https://e.com",
            "&lt;",
            "&#",
            ";",
            "  \n",
            "    ",
            "<script>",
            "](",
            "<img src=x onerror=alert(1)>",
            "\\",
        ];
        let mut seed: u64 = 99;
        for _ in 0..3000 {
            let mut source = String::new();
            for _ in 0..(seed % 40) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                source.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(3);
            let out = html(&source);
            assert_only_allowed_tags(&out);
            assert!(!out.to_lowercase().contains("href=\"javascript"), "{source:?}");
        }
    }

    #[test]
    fn a_maximum_length_description_of_nested_markup_renders_quickly() {
        for unit in ["*a **b ", "[", "> ", "- ", "`", "<", "&amp;", "![", "_"] {
            let source = unit.repeat(MAX_DESCRIPTION_CHARS / unit.len());
            let started = std::time::Instant::now();
            let out = html(&source);
            assert!(started.elapsed() < std::time::Duration::from_secs(2), "{unit:?}");
            assert_only_allowed_tags(&out);
        }
    }

    #[test]
    fn descriptions_are_trimmed_bounded_and_free_of_hidden_characters() {
        let d = description("description", "  Soft cotton.\r\n\r\n- washable\t30°C\r\n ").unwrap();
        assert_eq!(d.as_str(), "Soft cotton.\n\n- washable\t30°C");
        assert_eq!(description("description", "").unwrap().as_str(), "");
        assert!(description("description", &"é".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        let err = description("translations.fr.description", &"é".repeat(MAX_DESCRIPTION_CHARS + 1)).unwrap_err();
        assert_eq!(err.field, "translations.fr.description");
        assert!(err.message.contains("at most 10000"), "{}", err.message);
        for bad in ["a\u{0000}b", "a\u{0007}b", "a\u{001B}[31mb", "a\u{007F}b", "a\u{0085}b"] {
            assert!(description("description", bad).unwrap_err().message.contains("control"), "{bad:?}");
        }
        for bad in ["a\u{202E}b", "a\u{200B}b", "a\u{2066}b", "\u{FEFF}x"] {
            assert!(description("description", bad).unwrap_err().message.contains("invisible"), "{bad:?}");
        }
    }

    #[test]
    fn descriptions_travel_as_their_source_and_render_from_it() {
        let d: Description = serde_json::from_value(serde_json::json!("**Warm**")).unwrap();
        assert_eq!(serde_json::to_value(&d).unwrap(), serde_json::json!("**Warm**"));
        assert_eq!(d.render_html(), "<p><strong>Warm</strong></p>\n");
        assert!(serde_json::from_value::<Description>(serde_json::json!("a\u{202E}b")).is_err());
    }
}
