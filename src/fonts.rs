//! The TrueType font plotters draws text with (its `ab_glyph` backend has no system font
//! lookup): found once at run time, so plots need no font library and no committed font file.

use std::sync::OnceLock;

use plotters::style::FontStyle;

/// TrueType fonts tried for the plots' text (PNG rendering needs one): `$SYSNOISE_FONT`, then
/// Debian's fonts-dejavu-core.
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a font with plotters once; the error says how to get one.
pub fn ensure_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let from_env = std::env::var("SYSNOISE_FONT").ok();
            let candidates = from_env
                .iter()
                .map(String::as_str)
                .chain(FONT_CANDIDATES.iter().copied());
            for path in candidates {
                if let Ok(bytes) = std::fs::read(path) {
                    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                    if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                        return Ok(());
                    }
                }
            }
            Err(
                "no TrueType font for the plots: install fonts-dejavu-core (scripts/setup.sh does) or set \
                 SYSNOISE_FONT=/path/to/font.ttf"
                    .into(),
            )
        })
        .clone()
}
