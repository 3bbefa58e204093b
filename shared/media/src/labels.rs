//! Barcode labels: Code 128 of a SKU, EAN-13 / UPC-A / EAN-8 of a GTIN, as SVG or PNG.
//!
//! The bar patterns come from the `barcoders` crate; this module lays them out as a printable
//! label: quiet zones (light margins scanners need) on both sides, the human-readable text under
//! the bars, and for the EAN/UPC family the guard bars drawn longer and the digits placed where
//! the GS1 layout puts them (EAN-13's first digit left of the bars, UPC-A's first and last digits
//! outside them).
//!
//! Both outputs share one layout measured in modules (the width of the narrowest bar):
//! - SVG draws a module as one user unit and declares a printed size of [`MODULE_MM`] mm per
//!   module (EAN's nominal 100 % size), so it scales to any printer without loss. Its text is
//!   real text in a monospace font.
//! - PNG draws a module as `scale` pixels. Its text is drawn from the public-domain 8×8 VGA bitmap
//!   font (the `font8x8` crate: data only, no dependencies), a font pixel 6/7 of a module so that
//!   neighbouring digits keep a gap; the PNG needs no font file or text shaping at run time and
//!   looks the same everywhere.

use std::fmt::Write as _;

use barcoders::sym::code128::Code128;
use barcoders::sym::ean8::EAN8;
use barcoders::sym::ean13::EAN13;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use serde::{Deserialize, Serialize};
use stockyard_domain::gtin::{Gtin, GtinKind};

/// The printed width of one module in the SVG, in millimetres (EAN-13 at 100 % magnification).
pub const MODULE_MM: f64 = 0.33;

/// The longest SKU a Code 128 label is made for: the domain's SKU limit.
pub const CODE128_MAX_CHARS: usize = 64;

/// The largest PNG scale (pixels per module) [`Label::png`] draws.
pub const MAX_PNG_SCALE: u32 = 16;

// Vertical layout, in modules.
const MARGIN: u32 = 3;
const BAR_HEIGHT: u32 = 60;
/// How much further down the EAN/UPC guard bars reach.
const GUARD_EXTRA: u32 = 5;
const TEXT_GAP: u32 = 1;
const GLYPH: u32 = 8;
const TEXT_TOP: u32 = MARGIN + BAR_HEIGHT + TEXT_GAP;
const HEIGHT: u32 = TEXT_TOP + GLYPH + MARGIN;

/// Code 128 needs at least ten modules of light margin on each side.
const CODE128_QUIET: u32 = 10;

/// The barcode family a label is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Symbology {
    #[serde(rename = "code128")]
    Code128,
    #[serde(rename = "ean13")]
    Ean13,
    #[serde(rename = "upca")]
    UpcA,
    #[serde(rename = "ean8")]
    Ean8,
}

impl Symbology {
    /// The name printed in titles and shown to people: `Code 128`, `EAN-13`, `UPC-A`, `EAN-8`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Code128 => "Code 128",
            Self::Ean13 => "EAN-13",
            Self::UpcA => "UPC-A",
            Self::Ean8 => "EAN-8",
        }
    }
}

/// Why no label can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("the SKU is empty")]
    Empty,
    #[error("the SKU has {len} characters; a Code 128 label holds at most {max}")]
    TooLong { len: usize, max: usize },
    #[error(
        "the SKU has {character:?} at position {position}, which Code 128 cannot encode: \
         only letters, digits, spaces and ASCII punctuation can be"
    )]
    NotEncodable {
        /// 1-based, in characters.
        position: usize,
        character: char,
    },
    #[error("a GTIN-14 is printed as ITF-14 or GS1-128 on cases, not as a retail EAN/UPC barcode")]
    UnsupportedGtin,
    #[error("the barcode could not be drawn: {0}")]
    Render(String),
}

impl LabelError {
    /// `empty`, `too_long`, `not_encodable`, `unsupported_gtin` or `render_failed`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong { .. } => "too_long",
            Self::NotEncodable { .. } => "not_encodable",
            Self::UnsupportedGtin => "unsupported_gtin",
            Self::Render(_) => "render_failed",
        }
    }
}

/// A barcode ready to draw: its bars and the text printed under them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    symbology: Symbology,
    modules: Vec<bool>,
    text: String,
}

/// One dark rectangle, in modules.
struct Bar {
    x: u32,
    width: u32,
    height: u32,
}

/// One character of the human-readable text, in an 8 × 8 module cell whose left edge is `x`.
struct Glyph {
    x: u32,
    ch: char,
}

struct Layout {
    width: u32,
    bars: Vec<Bar>,
    glyphs: Vec<Glyph>,
}

impl Label {
    /// A Code 128 label of a SKU. Any printable ASCII character (space to `~`) can be encoded;
    /// the SKU is printed as given under the bars. A SKU of an even number of digits only uses
    /// Code 128's double-density digit set (a shorter label); anything else uses set B.
    pub fn code128(sku: &str) -> Result<Self, LabelError> {
        if sku.is_empty() {
            return Err(LabelError::Empty);
        }
        if let Some((i, character)) = sku.chars().enumerate().find(|(_, c)| !matches!(c, ' '..='~')) {
            return Err(LabelError::NotEncodable { position: i + 1, character });
        }
        if sku.len() > CODE128_MAX_CHARS {
            return Err(LabelError::TooLong { len: sku.len(), max: CODE128_MAX_CHARS });
        }
        // The encoder takes the character set as a leading marker: `Ć` is set C, `Ɓ` set B.
        let all_digits = sku.bytes().all(|b| b.is_ascii_digit());
        let marker = if all_digits && sku.len().is_multiple_of(2) { 'Ć' } else { 'Ɓ' };
        let encoded = Code128::new(format!("{marker}{sku}")).map_err(|e| LabelError::Render(e.to_string()))?.encode();
        Ok(Self { symbology: Symbology::Code128, modules: bits(&encoded), text: sku.to_string() })
    }

    /// The retail barcode of a GTIN: EAN-13 for a GTIN-13, UPC-A for a GTIN-12, EAN-8 for a
    /// GTIN-8. A GTIN-14 (trade units) has no retail barcode: [`LabelError::UnsupportedGtin`].
    pub fn gtin(gtin: &Gtin) -> Result<Self, LabelError> {
        let digits = gtin.as_str();
        let render = |e: barcoders::error::Error| LabelError::Render(e.to_string());
        let (symbology, encoded, expected) = match gtin.kind() {
            GtinKind::Gtin13 => (Symbology::Ean13, EAN13::new(digits).map_err(render)?.encode(), 95),
            // UPC-A is EAN-13 with a leading zero: the same bars.
            GtinKind::Gtin12 => (Symbology::UpcA, EAN13::new(format!("0{digits}")).map_err(render)?.encode(), 95),
            GtinKind::Gtin8 => (Symbology::Ean8, EAN8::new(digits).map_err(render)?.encode(), 67),
            GtinKind::Gtin14 => return Err(LabelError::UnsupportedGtin),
        };
        if encoded.len() != expected {
            return Err(LabelError::Render(format!(
                "{} has {} modules, not {expected}",
                symbology.name(),
                encoded.len()
            )));
        }
        Ok(Self { symbology, modules: bits(&encoded), text: digits.to_string() })
    }

    pub fn symbology(&self) -> Symbology {
        self.symbology
    }

    /// The human-readable text: the SKU or the GTIN's digits.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The symbol's modules from the first bar to the last, `true` for dark; quiet zones are not
    /// included.
    pub fn modules(&self) -> &[bool] {
        &self.modules
    }

    /// The label as a standalone SVG document (`image/svg+xml`).
    pub fn svg(&self) -> String {
        let layout = self.layout();
        let mut svg = String::new();
        // Writing to a String cannot fail.
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w_mm:.2}mm" height="{h_mm:.2}mm" viewBox="0 0 {w} {h}" shape-rendering="crispEdges">"#,
            w_mm = f64::from(layout.width) * MODULE_MM,
            h_mm = f64::from(HEIGHT) * MODULE_MM,
            w = layout.width,
            h = HEIGHT,
        );
        let _ = write!(svg, "<title>{} {}</title>", self.symbology.name(), escape(&self.text));
        svg.push_str(r##"<rect width="100%" height="100%" fill="#fff"/><path fill="#000" d=""##);
        for bar in &layout.bars {
            let _ = write!(svg, "M{},{}h{}v{}h-{}z", bar.x, MARGIN, bar.width, bar.height, bar.width);
        }
        svg.push_str(r#""/>"#);
        // One element per character, centred under its own bars: renderers agree on that, where
        // support for a list of x positions in one element varies.
        let _ = write!(
            svg,
            r##"<g font-family="OCR-B, 'DejaVu Sans Mono', Menlo, Consolas, monospace" font-size="10" text-anchor="middle" fill="#000">"##
        );
        for glyph in &layout.glyphs {
            let _ = write!(
                svg,
                r#"<text x="{}.5" y="{}">{}</text>"#,
                glyph.x + 3,
                TEXT_TOP + GLYPH - 1,
                escape(glyph.ch.encode_utf8(&mut [0; 4]))
            );
        }
        svg.push_str("</g></svg>");
        svg
    }

    /// The label as a PNG (`image/png`, 8-bit grey) with `scale` pixels per module, clamped to
    /// 1..=[`MAX_PNG_SCALE`]. 3 or more is recommended (an EAN-13 at 3 is 339 px wide, 34 mm at
    /// 254 dpi); at 1 neighbouring digits of the text touch.
    pub fn png(&self, scale: u32) -> Result<Vec<u8>, LabelError> {
        let scale = scale.clamp(1, MAX_PNG_SCALE);
        let layout = self.layout();
        let (width, height) = (layout.width * scale, HEIGHT * scale);
        let stride = width as usize;
        let mut pixels = vec![u8::MAX; stride * height as usize];
        for bar in &layout.bars {
            for row in MARGIN * scale..(MARGIN + bar.height) * scale {
                let start = row as usize * stride + (bar.x * scale) as usize;
                pixels[start..start + (bar.width * scale) as usize].fill(0);
            }
        }
        // A font pixel is `dot` image pixels: the glyphs are 7 dots wide, so at 6/7 of a module
        // they leave a gap between digits that sit 7 modules apart (at scale 1 they touch).
        let dot = (scale * 6 / 7).max(1) as usize;
        for glyph in &layout.glyphs {
            let rows = font8x8::legacy::BASIC_LEGACY.get(glyph.ch as usize).copied().unwrap_or_default();
            // Centred on the same point as the SVG's text, x + 3.5 modules.
            let left = ((2 * glyph.x + 7) * scale) as usize / 2 - 7 * dot / 2;
            let top = (TEXT_TOP * scale) as usize;
            for (dy, row) in rows.iter().enumerate() {
                for dx in 0..GLYPH as usize {
                    if (row >> dx) & 1 == 1 {
                        for y in top + dy * dot..top + (dy + 1) * dot {
                            let start = y * stride + left + dx * dot;
                            pixels[start..start + dot].fill(0);
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(&pixels, width, height, ExtendedColorType::L8)
            .map_err(|e| LabelError::Render(e.to_string()))?;
        Ok(out)
    }

    fn layout(&self) -> Layout {
        // Left quiet zone, right quiet zone, and the module ranges whose bars reach further down.
        let (left, right, guards): (u32, u32, &[(u32, u32)]) = match self.symbology {
            Symbology::Code128 => (CODE128_QUIET, CODE128_QUIET, &[]),
            Symbology::Ean13 => (11, 7, &[(0, 3), (45, 50), (92, 95)]),
            // The first and last digits' bars are as long as the guards.
            Symbology::UpcA => (9, 9, &[(0, 10), (45, 50), (85, 95)]),
            Symbology::Ean8 => (7, 7, &[(0, 3), (31, 36), (64, 67)]),
        };
        let symbol_width = self.modules.len() as u32;
        let width = left + symbol_width + right;

        let mut bars: Vec<Bar> = Vec::new();
        let mut previous_dark = false;
        for (i, dark) in (0u32..).zip(self.modules.iter().copied()) {
            let height = BAR_HEIGHT + if guards.iter().any(|&(a, b)| (a..b).contains(&i)) { GUARD_EXTRA } else { 0 };
            match bars.last_mut() {
                Some(bar) if dark && previous_dark && bar.height == height => bar.width += 1,
                _ if dark => bars.push(Bar { x: left + i, width: 1, height }),
                _ => {}
            }
            previous_dark = dark;
        }

        let digits: Vec<char> = self.text.chars().collect();
        // A digit sits under its 7-module symbol character, whose first module is `at`.
        let under = |at: u32, ch: char| Glyph { x: left + at, ch };
        let glyphs = match self.symbology {
            Symbology::Code128 => {
                let text_width = GLYPH * digits.len() as u32;
                let start = width.saturating_sub(text_width) / 2;
                (0u32..).zip(&digits).map(|(i, &ch)| Glyph { x: start + i * GLYPH, ch }).collect()
            }
            Symbology::Ean13 => {
                let mut glyphs = vec![Glyph { x: left - GLYPH - 1, ch: digits[0] }];
                glyphs.extend((0u32..).zip(&digits[1..7]).map(|(i, &ch)| under(3 + 7 * i, ch)));
                glyphs.extend((0u32..).zip(&digits[7..13]).map(|(i, &ch)| under(50 + 7 * i, ch)));
                glyphs
            }
            Symbology::UpcA => {
                let mut glyphs = vec![Glyph { x: 0, ch: digits[0] }];
                glyphs.extend((0u32..).zip(&digits[1..6]).map(|(i, &ch)| under(10 + 7 * i, ch)));
                glyphs.extend((0u32..).zip(&digits[6..11]).map(|(i, &ch)| under(50 + 7 * i, ch)));
                glyphs.push(Glyph { x: left + symbol_width + 2, ch: digits[11] });
                glyphs
            }
            Symbology::Ean8 => {
                let mut glyphs: Vec<Glyph> = (0u32..).zip(&digits[0..4]).map(|(i, &ch)| under(3 + 7 * i, ch)).collect();
                glyphs.extend((0u32..).zip(&digits[4..8]).map(|(i, &ch)| under(36 + 7 * i, ch)));
                glyphs
            }
        };
        Layout { width, bars, glyphs }
    }
}

fn bits(encoded: &[u8]) -> Vec<bool> {
    encoded.iter().map(|&m| m == 1).collect()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtin(digits: &str) -> Gtin {
        Gtin::parse("gtin", digits).unwrap()
    }

    fn pattern(bits: &str) -> Vec<bool> {
        bits.bytes().map(|b| b == b'1').collect()
    }

    /// EAN-13 written from the GS1 tables, independently of the crate: L codes as published, R
    /// codes their complement, G codes the R codes reversed; the first digit picks the L/G parity
    /// of the next six.
    fn ean_from_tables(digits: &str) -> Vec<bool> {
        const L: [&str; 10] = [
            "0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111",
            "0001011",
        ];
        const PARITY: [&str; 10] =
            ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"];
        let r = |d: usize| -> String { L[d].chars().map(|c| if c == '0' { '1' } else { '0' }).collect() };
        let g = |d: usize| -> String { r(d).chars().rev().collect() };
        let d: Vec<usize> = digits.bytes().map(|b| usize::from(b - b'0')).collect();
        let (left, right): (Vec<usize>, Vec<usize>) = match d.len() {
            13 => (d[1..7].to_vec(), d[7..13].to_vec()),
            8 => (d[0..4].to_vec(), d[4..8].to_vec()),
            _ => unreachable!(),
        };
        let parity = if d.len() == 13 { PARITY[d[0]] } else { "LLLL" };
        let mut bits = String::from("101");
        for (digit, p) in left.iter().zip(parity.chars()) {
            bits += &if p == 'L' { L[*digit].to_string() } else { g(*digit) };
        }
        bits += "01010";
        for digit in right {
            bits += &r(digit);
        }
        bits += "101";
        pattern(&bits)
    }

    /// Bar and space widths, in modules, starting with a bar.
    fn widths(modules: &[bool]) -> Vec<usize> {
        let mut runs: Vec<usize> = Vec::new();
        for (i, m) in modules.iter().enumerate() {
            if i > 0 && modules[i - 1] == *m {
                *runs.last_mut().unwrap() += 1;
            } else {
                runs.push(1);
            }
        }
        runs
    }

    fn width_string(modules: &[bool]) -> String {
        widths(modules).iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn ean13_bars_follow_the_gs1_tables() {
        for digits in ["4006381333931", "9780143007234", "5901234123457", "0012345678905"] {
            let label = Label::gtin(&gtin(digits)).unwrap();
            assert_eq!(label.symbology(), Symbology::Ean13);
            assert_eq!(label.text(), digits);
            assert_eq!(label.modules(), ean_from_tables(digits), "{digits}");
        }
    }

    #[test]
    fn ean13_module_widths_decode_to_the_standard_digit_patterns() {
        // 4006381333931: first digit 4 gives parity L G L L G G to 0 0 6 3 8 1.
        let label = Label::gtin(&gtin("4006381333931")).unwrap();
        let m = label.modules();
        assert_eq!(m.len(), 95);
        assert_eq!(width_string(&m[0..3]), "111", "left guard");
        // A symbol character is 7 modules in 2 bars and 2 spaces; the left half starts with a
        // space, so widths read space-bar-space-bar. Digit 0 in set L is 3-2-1-1, in set G 1-1-2-3.
        let symbol = |i: usize| -> String {
            let start = if i < 6 { 3 + 7 * i } else { 50 + 7 * (i - 6) };
            let runs = &m[start..start + 7];
            let mut w = vec![1usize];
            for k in 1..7 {
                if runs[k] == runs[k - 1] {
                    *w.last_mut().unwrap() += 1;
                } else {
                    w.push(1);
                }
            }
            w.iter().map(|n| n.to_string()).collect()
        };
        assert_eq!(symbol(0), "3211", "0 in L");
        assert_eq!(symbol(1), "1123", "0 in G");
        assert_eq!(symbol(2), "1114", "6 in L");
        assert_eq!(symbol(3), "1411", "3 in L");
        // Right half (bar first): R codes have the L widths. 3 is 1-4-1-1, 9 is 3-1-1-2, 1 is 2-2-2-1.
        assert_eq!(symbol(6), "1411", "3 in R");
        assert_eq!(symbol(9), "3112", "9 in R");
        assert_eq!(symbol(11), "2221", "check digit 1 in R");
        assert_eq!(width_string(&m[45..50]), "11111", "centre guard");
        assert_eq!(width_string(&m[92..95]), "111", "right guard");
    }

    #[test]
    fn upc_a_is_ean13_with_a_leading_zero_and_ean8_has_its_own_layout() {
        let upc = Label::gtin(&gtin("036000291452")).unwrap();
        assert_eq!(upc.symbology(), Symbology::UpcA);
        assert_eq!(upc.text(), "036000291452");
        assert_eq!(upc.modules(), ean_from_tables("0036000291452"));

        let ean8 = Label::gtin(&gtin("96385074")).unwrap();
        assert_eq!(ean8.symbology(), Symbology::Ean8);
        assert_eq!(ean8.modules().len(), 67);
        assert_eq!(ean8.modules(), ean_from_tables("96385074"));
    }

    #[test]
    fn a_gtin14_has_no_retail_barcode() {
        let err = Label::gtin(&gtin("10012345678902")).unwrap_err();
        assert_eq!(err, LabelError::UnsupportedGtin);
        assert_eq!(err.code(), "unsupported_gtin");
    }

    #[test]
    fn code128_of_a_sku_reads_start_data_check_and_stop() {
        // Published Code 128 widths: start B 211214, start C 211232, stop 2331112; value 0 212222,
        // 12 112232, 26 321221, 33 ('A' in set B) 111323, 34 131123.
        let symbols = |label: &Label| -> Vec<String> {
            let m = label.modules();
            let (body, stop) = m.split_at(m.len() - 13);
            let mut out: Vec<String> = body.chunks(11).map(width_string).collect();
            out.push(width_string(stop));
            out
        };
        // "A": check (104 + 1 × 33) mod 103 = 34.
        let a = Label::code128("A").unwrap();
        assert_eq!(a.symbology(), Symbology::Code128);
        assert_eq!(symbols(&a), ["211214", "111323", "131123", "2331112"]);
        // "0012" in the digit-pair set: 00 and 12; check (105 + 1 × 0 + 2 × 12) mod 103 = 26.
        let digits = Label::code128("0012").unwrap();
        assert_eq!(symbols(&digits), ["211232", "212222", "112232", "321221", "2331112"]);
    }

    #[test]
    fn any_printable_ascii_sku_is_encoded_and_nothing_else() {
        let sku = "TSHIRT-red_XL 2/3 (A&B) <x>";
        let label = Label::code128(sku).unwrap();
        assert_eq!(label.text(), sku);
        // Start, one symbol per character, check: 11 modules each, then the 13-module stop.
        assert_eq!(label.modules().len(), 11 * (sku.len() + 2) + 13);
        let printable: Vec<char> = (' '..='~').collect();
        for chunk in printable.chunks(CODE128_MAX_CHARS) {
            let chunk: String = chunk.iter().collect();
            assert_eq!(Label::code128(&chunk).map(|l| l.modules().len()), Ok(11 * (chunk.len() + 2) + 13), "{chunk}");
        }
        // An odd number of digits stays in set B.
        assert_eq!(Label::code128("12345").unwrap().modules().len(), 11 * 7 + 13);

        assert_eq!(Label::code128("").unwrap_err(), LabelError::Empty);
        let err = Label::code128("SKU-ü1").unwrap_err();
        assert_eq!(err, LabelError::NotEncodable { position: 5, character: 'ü' });
        assert_eq!(err.code(), "not_encodable");
        assert!(err.to_string().contains("'ü' at position 5"), "{err}");
        assert_eq!(Label::code128("A\tB").unwrap_err().code(), "not_encodable");
        assert_eq!(Label::code128("\u{7f}").unwrap_err().code(), "not_encodable");
        assert!(Label::code128(&"X".repeat(CODE128_MAX_CHARS)).is_ok());
        let err = Label::code128(&"X".repeat(CODE128_MAX_CHARS + 1)).unwrap_err();
        assert_eq!(err, LabelError::TooLong { len: 65, max: 64 });
        assert_eq!(err.code(), "too_long");
    }

    /// The bars an SVG draws, read back from its path: module index → height.
    fn svg_bars(svg: &str) -> Vec<(u32, u32, u32)> {
        let d = svg.split(r#" d=""#).nth(1).unwrap().split('"').next().unwrap();
        d.split('M')
            .filter(|s| !s.is_empty())
            .map(|s| {
                let n: Vec<u32> = s
                    .split(|c: char| !c.is_ascii_digit())
                    .filter(|t| !t.is_empty())
                    .map(|t| t.parse().unwrap())
                    .collect();
                // x, y, width, height, width
                assert_eq!(n[1], MARGIN);
                (n[0], n[2], n[3])
            })
            .collect()
    }

    #[test]
    fn the_svg_draws_every_bar_between_quiet_zones_with_longer_guards_and_the_digits() {
        let label = Label::gtin(&gtin("4006381333931")).unwrap();
        let svg = label.svg();
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg""#) && svg.ends_with("</svg>"));
        // 11 + 95 + 7 modules wide, 75 high; printed at 0.33 mm a module.
        assert!(svg.contains(r#"viewBox="0 0 113 75""#), "{svg}");
        assert!(svg.contains(r#"width="37.29mm" height="24.75mm""#), "{svg}");
        assert!(svg.contains("<title>EAN-13 4006381333931</title>"));
        // The first digit sits in the left quiet zone, the second under the first symbol, the
        // eighth under the first symbol of the right half.
        let texts: Vec<&str> = svg.split("<text ").skip(1).collect();
        assert_eq!(texts.len(), 13);
        assert_eq!(texts[0], r#"x="5.5" y="71">4</text>"#);
        assert_eq!(texts[1], r#"x="17.5" y="71">0</text>"#);
        assert_eq!(texts[7], r#"x="64.5" y="71">3</text>"#);
        let digits: String = texts.iter().map(|t| t.split('>').nth(1).unwrap().trim_end_matches("</text")).collect();
        assert_eq!(digits, "4006381333931");

        let mut drawn = [false; 113];
        for (x, width, height) in svg_bars(&svg) {
            for i in x..x + width {
                drawn[i as usize] = true;
                let module = i - 11;
                let guard = module < 3 || (45..50).contains(&module) || module >= 92;
                assert_eq!(height, if guard { 65 } else { 60 }, "module {module}");
            }
        }
        assert!(drawn[..11].iter().all(|d| !d) && drawn[106..].iter().all(|d| !d), "quiet zones stay light");
        assert_eq!(&drawn[11..106], label.modules());
    }

    #[test]
    fn svg_text_is_escaped() {
        let svg = Label::code128("A&B<C>\"'").unwrap().svg();
        for escaped in [">A<", ">&amp;<", ">B<", ">&lt;<", ">&gt;<", ">&quot;<", ">&apos;<"] {
            assert!(svg.contains(escaped), "{escaped} in {svg}");
        }
        assert!(svg.contains("<title>Code 128 A&amp;B&lt;C&gt;&quot;&apos;</title>"), "{svg}");
        assert!(!svg.contains("A&B") && !svg.contains("><<") && !svg.contains(">&<"));
    }

    /// Reads a PNG label back: grey pixels, and whether the module at (x, y) is dark.
    fn read_png(bytes: &[u8]) -> image::GrayImage {
        assert_eq!(image::guess_format(bytes).unwrap(), image::ImageFormat::Png);
        image::load_from_memory(bytes).unwrap().into_luma8()
    }

    #[test]
    fn the_png_has_the_same_bars_and_quiet_zones_at_its_scale() {
        for (label, left, right) in [
            (Label::gtin(&gtin("4006381333931")).unwrap(), 11, 7),
            (Label::gtin(&gtin("036000291452")).unwrap(), 9, 9),
            (Label::gtin(&gtin("96385074")).unwrap(), 7, 7),
            (Label::code128("SKU-42").unwrap(), 10, 10),
        ] {
            let scale = 3;
            let png = read_png(&label.png(scale).unwrap());
            let width = left + label.modules().len() as u32 + right;
            assert_eq!(png.dimensions(), (width * scale, HEIGHT * scale), "{}", label.text());
            // Every pixel of a module is the same colour; read one scan line halfway down the bars.
            let y = (MARGIN + BAR_HEIGHT / 2) * scale;
            let line: Vec<bool> = (0..width).map(|m| png.get_pixel(m * scale + 1, y)[0] < 128).collect();
            let mut expected = vec![false; left as usize];
            expected.extend(label.modules());
            expected.extend(vec![false; right as usize]);
            assert_eq!(line, expected, "{}", label.text());
            // Above the bars is the light margin.
            assert!((0..width * scale).all(|x| png.get_pixel(x, 0)[0] == 255));
        }
    }

    #[test]
    fn the_png_prints_the_text_in_the_bitmap_font_with_gaps_between_digits() {
        let label = Label::gtin(&gtin("4006381333931")).unwrap();
        // At 7 px a module a font pixel is 6 px; the first digit's cell starts at module 2, so its
        // centre is at 5.5 × 7 = 38.5 px and the 42-px-wide glyph starts at 17 px.
        let png = read_png(&label.png(7).unwrap());
        let glyph = font8x8::legacy::BASIC_LEGACY[usize::from(b'4')];
        let mut inked = 0;
        for (dy, row) in (0u32..).zip(glyph) {
            for dx in 0..8 {
                let (x, y) = (17 + dx * 6 + 3, TEXT_TOP * 7 + dy * 6 + 3);
                let dark = png.get_pixel(x, y)[0] < 128;
                assert_eq!(dark, (row >> dx) & 1 == 1, "pixel ({dx}, {dy}) of '4'");
                inked += usize::from(dark);
            }
        }
        assert!(inked > 10);
        for scale in [2, 3, 7] {
            let png = read_png(&label.png(scale).unwrap());
            let text_rows = TEXT_TOP * scale..(TEXT_TOP + GLYPH) * scale;
            let column_has_ink = |x: u32| text_rows.clone().any(|y| png.get_pixel(x, y)[0] < 128);
            // Every digit under the bars has ink in its 7-module cell ...
            let cells = [3u32, 10, 17, 24, 31, 38, 50, 57, 64, 71, 78, 85].map(|m| (11 + m) * scale);
            for &cell in &cells {
                assert!((cell..cell + 7 * scale).any(column_has_ink), "scale {scale}: no digit at {cell}");
            }
            // ... and a light column between it and the next, so "00" reads as two digits.
            for pair in cells.windows(2).filter(|p| p[1] - p[0] == 7 * scale) {
                let gap = (pair[0] + 4 * scale..pair[1] + 3 * scale).any(|x| !column_has_ink(x));
                assert!(gap, "scale {scale}: digits at {} and {} touch", pair[0], pair[1]);
            }
        }
    }

    #[test]
    fn the_png_scale_is_kept_within_bounds() {
        let label = Label::code128("A1").unwrap();
        let width = (10 + label.modules().len() as u32 + 10, HEIGHT);
        assert_eq!(read_png(&label.png(0).unwrap()).dimensions(), width);
        assert_eq!(
            read_png(&label.png(1000).unwrap()).dimensions(),
            (width.0 * MAX_PNG_SCALE, width.1 * MAX_PNG_SCALE)
        );
    }
}
