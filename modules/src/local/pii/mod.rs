//! Rules-based PII detection: regex candidates, validated by checksums and
//! context, then resolved into non-overlapping spans.
//!
//! Offsets are Unicode code points because clients (Python `str` indexing,
//! the Hugging Face token-classification format) count characters, not UTF-8
//! bytes.

mod checksums;
mod offsets;
mod patterns;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PiiEntity {
    Email,
    Phone,
    Url,
    IpAddress,
    CreditCard,
    Iban,
}

impl PiiEntity {
    pub const ALL: [PiiEntity; 6] = [
        PiiEntity::Email,
        PiiEntity::Phone,
        PiiEntity::Url,
        PiiEntity::IpAddress,
        PiiEntity::CreditCard,
        PiiEntity::Iban,
    ];

    /// The wire name; matches the serde representation.
    pub fn name(self) -> &'static str {
        match self {
            PiiEntity::Email => "EMAIL",
            PiiEntity::Phone => "PHONE",
            PiiEntity::Url => "URL",
            PiiEntity::IpAddress => "IP_ADDRESS",
            PiiEntity::CreditCard => "CREDIT_CARD",
            PiiEntity::Iban => "IBAN",
        }
    }

    /// Tie-break between equally long overlapping spans: the entity whose
    /// pattern is more specific (harder to match by accident) wins.
    fn priority(self) -> u8 {
        match self {
            PiiEntity::Email => 5,
            PiiEntity::Url => 4,
            PiiEntity::Iban => 3,
            PiiEntity::CreditCard => 2,
            PiiEntity::IpAddress => 1,
            PiiEntity::Phone => 0,
        }
    }
}

impl FromStr for PiiEntity {
    type Err = String;

    /// Case-insensitive so hand-written configs (`email`) work too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        PiiEntity::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let valid: Vec<&str> = PiiEntity::ALL.iter().map(|e| e.name()).collect();
                format!(
                    "unknown PII entity {s:?} (expected one of: {})",
                    valid.join(", ")
                )
            })
    }
}

/// One detected entity. `start`/`end` are code-point offsets (end exclusive),
/// so `text.chars().skip(start).take(end - start)` equals `word`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiSpan {
    pub entity: PiiEntity,
    pub start: usize,
    pub end: usize,
    pub word: String,
}

/// Detects the enabled entity types. Cheap to clone; the compiled regexes are
/// process-wide statics.
#[derive(Debug, Clone)]
pub struct PiiDetector {
    enabled: BTreeSet<PiiEntity>,
}

impl PiiDetector {
    pub fn new(entities: impl IntoIterator<Item = PiiEntity>) -> Self {
        Self {
            enabled: entities.into_iter().collect(),
        }
    }

    /// The enabled entity types, sorted and without duplicates.
    pub fn entities(&self) -> Vec<PiiEntity> {
        self.enabled.iter().copied().collect()
    }

    /// All detected spans, sorted by start and non-overlapping.
    pub fn detect(&self, text: &str) -> Vec<PiiSpan> {
        // Only enabled entities are searched, so disabled ones can never
        // suppress an enabled span during overlap resolution.
        let mut candidates = Vec::new();
        for &entity in &self.enabled {
            patterns::find(entity, text, &mut candidates);
        }
        if candidates.is_empty() {
            return Vec::new();
        }
        let byte_spans: Vec<(usize, usize)> = candidates.iter().map(|c| (c.start, c.end)).collect();
        // Convert before resolving so "longer" means more characters, which
        // is what the caller sees.
        let char_spans = offsets::byte_spans_to_char_spans(text, &byte_spans);

        resolve_overlaps(&candidates, &char_spans)
            .into_iter()
            .map(|i| {
                let c = &candidates[i];
                let (start, end) = char_spans[i];
                PiiSpan {
                    entity: c.entity,
                    start,
                    end,
                    word: text[c.start..c.end].to_string(),
                }
            })
            .collect()
    }
}

/// Greedy interval selection: longest span first, then entity priority, then
/// earliest start (for determinism). Returns candidate indices sorted by
/// start. O(n log n) in the number of candidates.
fn resolve_overlaps(candidates: &[patterns::Candidate], spans: &[(usize, usize)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| {
        let (start, end) = spans[i];
        (
            std::cmp::Reverse(end - start),
            std::cmp::Reverse(candidates[i].entity.priority()),
            start,
        )
    });
    // Accepted spans keyed by start; they are disjoint, so only the last one
    // starting before a new span's end can overlap it.
    let mut taken: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for i in order {
        let (start, end) = spans[i];
        let overlaps = taken
            .range(..end)
            .next_back()
            .is_some_and(|(_, &(prev_end, _))| prev_end > start);
        if !overlaps {
            taken.insert(start, (end, i));
        }
    }
    taken.into_values().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> PiiDetector {
        PiiDetector::new(PiiEntity::ALL)
    }

    /// `(entity, word)` pairs, asserting the offsets agree with the word.
    fn found(detector: &PiiDetector, text: &str) -> Vec<(PiiEntity, String)> {
        let chars: Vec<char> = text.chars().collect();
        let spans = detector.detect(text);
        for w in spans.windows(2) {
            assert!(w[0].end <= w[1].start, "overlap or unsorted: {spans:?}");
        }
        spans
            .into_iter()
            .map(|s| {
                let word: String = chars[s.start..s.end].iter().collect();
                assert_eq!(word, s.word);
                (s.entity, s.word)
            })
            .collect()
    }

    fn only(entity: PiiEntity, text: &str) -> Vec<String> {
        found(&PiiDetector::new([entity]), text)
            .into_iter()
            .map(|(_, w)| w)
            .collect()
    }

    #[test]
    fn reference_offsets_ascii() {
        let spans = all().detect("Mail ana@example.com or call +1 415 555 0100");
        assert_eq!(
            spans,
            vec![
                PiiSpan {
                    entity: PiiEntity::Email,
                    start: 5,
                    end: 20,
                    word: "ana@example.com".into()
                },
                PiiSpan {
                    entity: PiiEntity::Phone,
                    start: 29,
                    end: 44,
                    word: "+1 415 555 0100".into()
                },
            ]
        );
    }

    #[test]
    fn reference_offsets_shift_by_prefix_chars() {
        let prefix = "Olá 👋🏽 café — ";
        let shift = prefix.chars().count();
        assert_eq!(shift, 14);
        let text = format!("{prefix}Mail ana@example.com or call +1 415 555 0100");
        let spans = all().detect(&text);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].entity, PiiEntity::Email);
        assert_eq!((spans[0].start, spans[0].end), (5 + shift, 20 + shift));
        assert_eq!((spans[0].start, spans[0].end), (19, 34));
        assert_eq!(spans[0].word, "ana@example.com");
        assert_eq!(spans[1].entity, PiiEntity::Phone);
        assert_eq!((spans[1].start, spans[1].end), (29 + shift, 44 + shift));
        assert_eq!((spans[1].start, spans[1].end), (43, 58));
        assert_eq!(spans[1].word, "+1 415 555 0100");
    }

    #[test]
    fn entity_names_round_trip() {
        for e in PiiEntity::ALL {
            assert_eq!(e.name().parse::<PiiEntity>(), Ok(e));
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(json, format!("\"{}\"", e.name()));
            assert_eq!(serde_json::from_str::<PiiEntity>(&json).unwrap(), e);
        }
        assert_eq!("credit_card".parse(), Ok(PiiEntity::CreditCard));
        let err = "SSN".parse::<PiiEntity>().unwrap_err();
        assert!(err.contains("SSN"), "{err}");
        assert!(
            err.contains("EMAIL, PHONE, URL, IP_ADDRESS, CREDIT_CARD, IBAN"),
            "{err}"
        );
    }

    #[test]
    fn entities_are_sorted_and_deduplicated() {
        let d = PiiDetector::new([PiiEntity::Iban, PiiEntity::Email, PiiEntity::Iban]);
        assert_eq!(d.entities(), vec![PiiEntity::Email, PiiEntity::Iban]);
        assert_eq!(all().entities(), PiiEntity::ALL.to_vec());
        assert!(PiiDetector::new([]).detect("ana@example.com").is_empty());
    }

    #[test]
    fn email_positive() {
        for e in [
            "ana@example.com",
            "first.last+tag@mail.example.co.uk",
            "a_b%c-d@sub-domain.example.org",
            "X1@ex.io",
        ] {
            assert_eq!(
                only(PiiEntity::Email, &format!("to <{e}>.")),
                vec![e],
                "{e}"
            );
        }
        assert_eq!(
            only(PiiEntity::Email, "Write to ana@example.com."),
            vec!["ana@example.com"]
        );
        // Non-Latin scripts are not glued onto the local part.
        assert_eq!(
            only(PiiEntity::Email, "联系我ana@example.com谢谢"),
            vec!["ana@example.com"]
        );
        assert_eq!(
            only(PiiEntity::Phone, "电话415-555-0100谢谢"),
            vec!["415-555-0100"]
        );
    }

    #[test]
    fn email_negative() {
        for t in [
            "ana@localhost",
            "ana@example.c",
            "ana@example.c0m",
            "ana@-example.com",
            "ana@example..com",
            "@example.com",
            "ana.@example.com",
            "ana@example.com1",
            "ana@example.com-x",
        ] {
            assert!(only(PiiEntity::Email, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn phone_positive_and_negative() {
        assert_eq!(
            only(
                PiiEntity::Phone,
                "Call +44 20 7946 0958, (415) 555-0100 or +81-3-1234-5678."
            ),
            vec!["+44 20 7946 0958", "(415) 555-0100", "+81-3-1234-5678"]
        );
        for t in [
            "Released in 2024.",
            "Order 123456789.",
            "Due 2024-01-15.",
            "Version 1.2.3.4.5",
            "tracking12345-678-9012",
        ] {
            assert!(only(PiiEntity::Phone, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn url_positive_and_negative() {
        assert_eq!(
            only(
                PiiEntity::Url,
                "Docs: https://example.com/a/b?x=1&y=2#frag. Mirror (www.example.org)!"
            ),
            vec!["https://example.com/a/b?x=1&y=2#frag", "www.example.org"]
        );
        assert!(only(PiiEntity::Url, "no scheme example.com, www.localhost").is_empty());
    }

    #[test]
    fn ip_positive_and_negative() {
        assert_eq!(
            only(
                PiiEntity::IpAddress,
                "hosts 192.168.1.1, 10.0.0.255 and 2001:db8::8a2e:370:7334."
            ),
            vec!["192.168.1.1", "10.0.0.255", "2001:db8::8a2e:370:7334"]
        );
        assert_eq!(
            only(PiiEntity::IpAddress, "mapped ::ffff:192.0.2.1 here"),
            vec!["::ffff:192.0.2.1"]
        );
        for t in [
            "bad 256.1.1.1 octet",
            "version 1.2.3.4.5",
            "v1.2.3.4",
            "leading 01.2.3.4 zero",
            "time 12:30:45",
        ] {
            assert!(only(PiiEntity::IpAddress, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn credit_card_positive_and_negative() {
        assert_eq!(
            only(
                PiiEntity::CreditCard,
                "Cards 4111 1111 1111 1111, 4111-1111-1111-1111 and 378282246310005."
            ),
            vec![
                "4111 1111 1111 1111",
                "4111-1111-1111-1111",
                "378282246310005"
            ]
        );
        for t in [
            "bad luhn 4111 1111 1111 1112",
            "too short 411111111111",
            "longer run 41111111111111110000",
            "plain 1234567890123",
        ] {
            assert!(only(PiiEntity::CreditCard, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn iban_positive_and_negative() {
        assert_eq!(
            only(
                PiiEntity::Iban,
                "Pay DE89 3704 0044 0532 0130 00 or GB82WEST12345698765432, ref nl91abna0417164300."
            ),
            vec![
                "DE89 3704 0044 0532 0130 00",
                "GB82WEST12345698765432",
                "nl91abna0417164300"
            ]
        );
        for t in [
            "bad checksum DE89 3704 0044 0532 0130 01",
            "bad checksum GB82WEST12345698765431",
            "wrong length DE6812345678901234567",
            "too short DE89 3704",
        ] {
            assert!(only(PiiEntity::Iban, t).is_empty(), "{t}");
        }
    }

    #[test]
    fn overlap_prefers_longer_span() {
        // The URL contains an email and an IP; the URL is longer and wins.
        let text = "see https://10.0.0.1/u?to=ana@example.com now";
        assert_eq!(
            found(&all(), text),
            vec![(
                PiiEntity::Url,
                "https://10.0.0.1/u?to=ana@example.com".to_string()
            )]
        );
        // An embedded IPv4 loses to the enclosing IPv6 address.
        assert_eq!(
            found(&all(), "addr ::ffff:192.0.2.1"),
            vec![(PiiEntity::IpAddress, "::ffff:192.0.2.1".to_string())]
        );
    }

    #[test]
    fn overlap_equal_length_uses_priority() {
        let candidates = [
            patterns::Candidate {
                entity: PiiEntity::Phone,
                start: 0,
                end: 10,
            },
            patterns::Candidate {
                entity: PiiEntity::CreditCard,
                start: 0,
                end: 10,
            },
            patterns::Candidate {
                entity: PiiEntity::IpAddress,
                start: 5,
                end: 15,
            },
            patterns::Candidate {
                entity: PiiEntity::Email,
                start: 12,
                end: 20,
            },
        ];
        let spans: Vec<(usize, usize)> = candidates.iter().map(|c| (c.start, c.end)).collect();
        let kept: Vec<PiiEntity> = resolve_overlaps(&candidates, &spans)
            .into_iter()
            .map(|i| candidates[i].entity)
            .collect();
        // Card beats phone on the tie; the IP span, as long but lower in
        // priority, overlaps the card and goes; the shorter email is disjoint.
        assert_eq!(kept, vec![PiiEntity::CreditCard, PiiEntity::Email]);
    }

    #[test]
    fn mailto_follows_the_length_rule() {
        // `mailto:` is not a URL scheme we match, so the email stands alone.
        assert_eq!(
            found(&all(), "mailto:ana@example.com"),
            vec![(PiiEntity::Email, "ana@example.com".to_string())]
        );
    }

    #[test]
    fn disabled_entities_do_not_suppress_enabled_ones() {
        let text = "see https://10.0.0.1/u?to=ana@example.com now";
        assert_eq!(
            only(PiiEntity::Email, text),
            vec!["ana@example.com".to_string()]
        );
        assert_eq!(
            only(PiiEntity::IpAddress, text),
            vec!["10.0.0.1".to_string()]
        );
        let d = PiiDetector::new([PiiEntity::Email, PiiEntity::IpAddress]);
        assert_eq!(
            found(&d, text),
            vec![
                (PiiEntity::IpAddress, "10.0.0.1".to_string()),
                (PiiEntity::Email, "ana@example.com".to_string())
            ]
        );
    }

    #[test]
    fn mixed_document() {
        let text = "Olá! Contact: josé.ana@exemplo.pt, +351 912 345 678, \
                    IBAN PT50 0002 0123 1234 5678 9015 4, card 5555 5555 5555 4444, \
                    server 203.0.113.7 (see https://exemplo.pt/contato).";
        let got = found(&all(), text);
        let entities: Vec<PiiEntity> = got.iter().map(|(e, _)| *e).collect();
        assert_eq!(
            entities,
            vec![
                PiiEntity::Email,
                PiiEntity::Phone,
                PiiEntity::Iban,
                PiiEntity::CreditCard,
                PiiEntity::IpAddress,
                PiiEntity::Url
            ],
            "{got:?}"
        );
        assert_eq!(got[0].1, "josé.ana@exemplo.pt");
        assert_eq!(got[5].1, "https://exemplo.pt/contato");
    }

    #[test]
    fn pathological_inputs_stay_linear() {
        let inputs = [
            "7".repeat(1 << 20),
            "1 ".repeat(1 << 19),
            "12-".repeat(1 << 18),
            "1.".repeat(1 << 19),
            "a.".repeat(1 << 19) + "@",
            "ab:".repeat(1 << 18),
            "DE89 ".repeat(1 << 18),
            "(".repeat(1 << 19) + "https://x.io/" + &")".repeat(1 << 19),
        ];
        let detector = all();
        for text in &inputs {
            let start = std::time::Instant::now();
            let _ = detector.detect(text);
            assert!(
                start.elapsed().as_secs() < 10,
                "{:?} on {:?}...",
                start.elapsed(),
                &text[..20]
            );
        }
    }

    #[test]
    fn large_input_is_fast_enough() {
        let chunk = "Lorem ipsum 2024-01-15 dolor ana@example.com sit 4111 1111 1111 1111, \
                     amet 10.0.0.1 v1.2.3 https://example.com/x 0123456789 ";
        let text = chunk.repeat(20_000); // ~2.4 MB
        let start = std::time::Instant::now();
        let spans = all().detect(&text);
        assert_eq!(spans.len(), 20_000 * 4);
        // Generous bound: catches quadratic behaviour, not micro-regressions.
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }
}
