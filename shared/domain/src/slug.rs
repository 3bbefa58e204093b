//! URL slugs: the readable part of a product's address (`/products/organic-cotton-t-shirt`).
//!
//! Slugs are plain lowercase ASCII so that an address looks the same in every browser, log and
//! shell, needs no percent-encoding, and two slugs are equal exactly when their bytes are.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::FieldError;

/// A slug: `a`–`z`, `0`–`9` and single hyphens between them, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", description = "1 to 100 characters", example = "organic-cotton-t-shirt")]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 100;

    /// Checks a slug the client chose. Upper-case ASCII letters are lower-cased; everything else
    /// outside the alphabet is refused, so the client sees the address it will get.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let slug = raw.trim().to_ascii_lowercase();
        if slug.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if slug.len() > Self::MAX_LEN {
            return Err(FieldError::new(field, format!("must be at most {} characters", Self::MAX_LEN)));
        }
        if !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(FieldError::new(field, "may contain only letters a-z, digits and hyphens"));
        }
        if slug.starts_with('-') || slug.ends_with('-') {
            return Err(FieldError::new(field, "must not start or end with a hyphen"));
        }
        if slug.contains("--") {
            return Err(FieldError::new(field, "must not contain two hyphens in a row"));
        }
        Ok(Self(slug))
    }

    /// A slug made from a title, the same every time for the same title: letters with common Latin
    /// accents lose them (`é` → `e`, `ß` → `ss`, `ø` → `o`, `æ` → `ae`), apostrophes vanish
    /// (`women's` → `womens`), every other run of characters becomes one hyphen, and a slug longer
    /// than the limit is cut at the last whole word that fits. A title with nothing usable (only
    /// Chinese characters, say) gets `item-` and a hash of the title, so it is still unique-ish and
    /// stable; the store settles real collisions.
    pub fn from_title(title: &str) -> Slug {
        let mut words: Vec<String> = vec![String::new()];
        for c in title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                words.last_mut().expect("never empty").push(c);
            } else if let Some(ascii) = transliterate(c) {
                words.last_mut().expect("never empty").push_str(ascii);
            } else if is_silent(c) {
                continue;
            } else if !words.last().expect("never empty").is_empty() {
                words.push(String::new());
            }
        }
        let mut slug = String::new();
        for word in words.iter().filter(|w| !w.is_empty()) {
            let needed = if slug.is_empty() { word.len() } else { word.len() + 1 };
            if slug.len() + needed > Self::MAX_LEN {
                if slug.is_empty() {
                    slug.push_str(&word[..Self::MAX_LEN]);
                }
                break;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            slug.push_str(word);
        }
        if slug.is_empty() {
            slug = format!("item-{:08x}", fnv1a(title.trim().as_bytes()));
        }
        Slug(slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters dropped without splitting a word: apostrophes, and combining accents (a decomposed
/// `é` is `e` followed by U+0301).
fn is_silent(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}' | '\u{0300}'..='\u{036F}')
}

/// ASCII for the lower-case Latin letters of Western, Central and Northern European languages.
fn transliterate(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// 32-bit FNV-1a: tiny, and fixed forever, so a fallback slug never changes between releases.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |hash, b| (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193))
}

impl TryFrom<String> for Slug {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("slug", &s).map_err(|e| e.message)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> Self {
        s.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(title: &str) -> String {
        Slug::from_title(title).as_str().to_string()
    }

    #[test]
    fn titles_become_lowercase_words_joined_by_single_hyphens() {
        assert_eq!(slug("Organic Cotton T-Shirt"), "organic-cotton-t-shirt");
        assert_eq!(slug("  --Hello,   World!!  "), "hello-world");
        assert_eq!(slug("Size: XL / 42"), "size-xl-42");
        assert_eq!(slug("Women's Boots"), "womens-boots");
        assert_eq!(slug("Women\u{2019}s Boots"), "womens-boots");
    }

    #[test]
    fn common_latin_accents_are_transliterated() {
        assert_eq!(slug("Crème Brûlée"), "creme-brulee");
        assert_eq!(slug("Straße"), "strasse");
        assert_eq!(slug("Smørrebrød Æble"), "smorrebrod-aeble");
        assert_eq!(slug("Łódź Żółć"), "lodz-zolc");
        assert_eq!(slug("ŒUVRE Ça Ñandú"), "oeuvre-ca-nandu");
        assert_eq!(slug("Þór Ðoð"), "thor-dod");
        // the same letters decomposed into a base and a combining accent
        assert_eq!(slug("Cre\u{0300}me bru\u{0302}le\u{0301}e"), "creme-brulee");
    }

    #[test]
    fn other_scripts_and_symbols_separate_words_and_are_dropped() {
        assert_eq!(slug("T恤 Shirt"), "t-shirt");
        assert_eq!(slug("Café ☕ Mug"), "cafe-mug");
        assert_eq!(slug("Παπούτσια shoes"), "shoes");
    }

    #[test]
    fn a_title_with_nothing_usable_gets_a_stable_hashed_slug() {
        let chinese = slug("纯棉衬衫");
        assert_eq!(chinese.len(), "item-".len() + 8);
        assert!(chinese.starts_with("item-"), "{chinese}");
        assert_eq!(slug("纯棉T恤"), "t", "one usable letter is enough");
        assert_eq!(chinese, slug("纯棉衬衫"));
        assert_ne!(chinese, slug("羊毛衫"));
        assert_eq!(slug(""), "item-811c9dc5");
        assert_eq!(slug("!!!"), slug("  !!!  "));
    }

    #[test]
    fn long_titles_are_cut_at_the_last_whole_word_that_fits() {
        let title = "word ".repeat(40);
        let s = slug(&title);
        assert!(s.len() <= Slug::MAX_LEN && !s.ends_with('-'), "{s}");
        assert_eq!(s.len(), 99, "twenty words of four letters and nineteen hyphens");
        let one_long_word = "a".repeat(150);
        assert_eq!(slug(&one_long_word), "a".repeat(100));
    }

    #[test]
    fn every_slug_made_from_a_title_is_valid_and_the_same_each_time() {
        let alphabet: Vec<char> = "aZ9 -_'’éßøæÆ恤☕\u{0301}\u{202E}\t\n.".chars().collect();
        let mut seed: u64 = 5;
        for _ in 0..3000 {
            let mut title = String::new();
            for _ in 0..(seed % 130) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                title.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(11);
            let made = Slug::from_title(&title);
            assert_eq!(Slug::parse("slug", made.as_str()).as_ref(), Ok(&made), "{title:?}");
            assert_eq!(Slug::from_title(&title), made);
        }
    }

    #[test]
    fn a_chosen_slug_must_already_be_in_slug_form() {
        assert_eq!(Slug::parse("slug", " Summer-Sale-2026 ").unwrap().as_str(), "summer-sale-2026");
        assert_eq!(Slug::parse("slug", "a").unwrap().as_str(), "a");
        assert!(Slug::parse("slug", &"a".repeat(100)).is_ok());
        for (bad, why) in [
            ("", "is required"),
            (&"a".repeat(101), "at most 100"),
            ("summer sale", "only letters"),
            ("café", "only letters"),
            ("a_b", "only letters"),
            ("-a", "start or end"),
            ("a-", "start or end"),
            ("-", "start or end"),
            ("a--b", "two hyphens"),
        ] {
            let err = Slug::parse("translations.fr.slug", bad).unwrap_err();
            assert_eq!(err.field, "translations.fr.slug");
            assert!(err.message.contains(why), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn slugs_travel_as_strings_checked_on_the_way_in() {
        assert_eq!(serde_json::to_value(Slug::from_title("Blue Mug")).unwrap(), serde_json::json!("blue-mug"));
        assert!(serde_json::from_value::<Slug>(serde_json::json!("blue mug")).is_err());
    }
}
