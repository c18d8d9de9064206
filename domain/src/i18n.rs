//! Languages the product speaks. Chinese is the default; English is a switch.

use serde::{Deserialize, Serialize};

/// A user-interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Simplified Chinese (zh-CN), the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Picks the language from an HTTP `Accept-Language` value: English only
    /// when English is preferred over Chinese; Chinese otherwise.
    pub fn from_accept_language(header: &str) -> Lang {
        for part in header.split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::Zh
    }

    /// The BCP 47 tag, as used in `<html lang>` and `Accept-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Chooses between a Chinese and an English text.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_first_known_language() {
        let cases = [
            ("en-US,en;q=0.9,zh-CN;q=0.8", Lang::En, "English first"),
            ("zh-CN,zh;q=0.9,en;q=0.8", Lang::Zh, "Chinese first"),
            ("fr-FR,en;q=0.5", Lang::En, "unknown language skipped"),
            ("", Lang::Zh, "empty header falls back to Chinese"),
            ("de", Lang::Zh, "no known language falls back to Chinese"),
        ];
        for (header, expected, why) in cases {
            assert_eq!(Lang::from_accept_language(header), expected, "{why}");
        }
    }
}
