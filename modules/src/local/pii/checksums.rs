//! Checksum validation for number-like PII.
//!
//! Card numbers and IBANs are dense digit strings that collide with order
//! numbers, invoice references and hashes; the checksums are what keep the
//! false-positive rate of the regex candidates low.

/// Luhn (mod 10) check over ASCII digits; non-digits make the number invalid
/// rather than being skipped, so callers must strip separators first.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    // Doubling starts at the second digit from the right, so walk backwards.
    for (i, &b) in digits.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Registered IBAN lengths (ISO 13616 registry). A wrong entry here would
/// silently drop real IBANs, so only well-established countries are listed;
/// everything else goes through the generic length range.
const IBAN_LENGTHS: &[([u8; 2], usize)] = &[
    (*b"AD", 24),
    (*b"AE", 23),
    (*b"AL", 28),
    (*b"AT", 20),
    (*b"AZ", 28),
    (*b"BA", 20),
    (*b"BE", 16),
    (*b"BG", 22),
    (*b"BH", 22),
    (*b"BR", 29),
    (*b"BY", 28),
    (*b"CH", 21),
    (*b"CR", 22),
    (*b"CY", 28),
    (*b"CZ", 24),
    (*b"DE", 22),
    (*b"DK", 18),
    (*b"DO", 28),
    (*b"EE", 20),
    (*b"EG", 29),
    (*b"ES", 24),
    (*b"FI", 18),
    (*b"FO", 18),
    (*b"FR", 27),
    (*b"GB", 22),
    (*b"GE", 22),
    (*b"GI", 23),
    (*b"GL", 18),
    (*b"GR", 27),
    (*b"GT", 28),
    (*b"HR", 21),
    (*b"HU", 28),
    (*b"IE", 22),
    (*b"IL", 23),
    (*b"IQ", 23),
    (*b"IS", 26),
    (*b"IT", 27),
    (*b"JO", 30),
    (*b"KW", 30),
    (*b"KZ", 20),
    (*b"LB", 28),
    (*b"LC", 32),
    (*b"LI", 21),
    (*b"LT", 20),
    (*b"LU", 20),
    (*b"LV", 21),
    (*b"LY", 25),
    (*b"MC", 27),
    (*b"MD", 24),
    (*b"ME", 22),
    (*b"MK", 19),
    (*b"MR", 27),
    (*b"MT", 31),
    (*b"MU", 30),
    (*b"NL", 18),
    (*b"NO", 15),
    (*b"PK", 24),
    (*b"PL", 28),
    (*b"PS", 29),
    (*b"PT", 25),
    (*b"QA", 29),
    (*b"RO", 24),
    (*b"RS", 22),
    (*b"SA", 24),
    (*b"SC", 31),
    (*b"SD", 18),
    (*b"SE", 24),
    (*b"SI", 19),
    (*b"SK", 24),
    (*b"SM", 27),
    (*b"ST", 25),
    (*b"SV", 28),
    (*b"TL", 23),
    (*b"TN", 24),
    (*b"TR", 26),
    (*b"UA", 29),
    (*b"VA", 22),
    (*b"VG", 24),
    (*b"XK", 20),
];

/// Shortest and longest IBAN any country may use (2 + 2 + 11..=30).
const IBAN_MIN_LEN: usize = 15;
const IBAN_MAX_LEN: usize = 34;

/// Registered total IBAN length for an upper-case country code, if known.
pub(crate) fn iban_length(country: [u8; 2]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| *code == country)
        .map(|&(_, len)| len)
}

/// Whether a compact IBAN of `len` characters can belong to `country`
/// (upper case); lets callers skip checksumming impossible candidates.
pub(crate) fn iban_length_plausible(country: [u8; 2], len: usize) -> bool {
    match iban_length(country) {
        Some(expected) => len == expected,
        None => (IBAN_MIN_LEN..=IBAN_MAX_LEN).contains(&len),
    }
}

/// Validates a compact IBAN (no spaces, either letter case): structure,
/// country length, the ISO "02..=98" check-digit range and mod-97 == 1.
pub(crate) fn iban_valid(compact: &str) -> bool {
    let bytes = compact.as_bytes();
    if !(IBAN_MIN_LEN..=IBAN_MAX_LEN).contains(&bytes.len())
        || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let country = [bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase()];
    if !country.iter().all(u8::is_ascii_uppercase)
        || !bytes[2].is_ascii_digit()
        || !bytes[3].is_ascii_digit()
    {
        return false;
    }
    // 00, 01 and 99 are never produced by the check-digit algorithm.
    let check = (bytes[2] - b'0') * 10 + (bytes[3] - b'0');
    if !(2..=98).contains(&check) {
        return false;
    }
    iban_length_plausible(country, bytes.len()) && iban_mod97(bytes) == 1
}

/// ISO 7064 mod 97-10 remainder of the rearranged IBAN (first four characters
/// moved to the end, letters expanded to 10..=35), computed incrementally so
/// no big integers are needed. Expects ASCII alphanumerics.
fn iban_mod97(bytes: &[u8]) -> u32 {
    let (head, tail) = bytes.split_at(4);
    tail.iter().chain(head).fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            let v = u32::from(b.to_ascii_uppercase() - b'A') + 10;
            (acc * 100 + v) % 97
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_known_test_cards() {
        for n in [
            "4111111111111111",
            "378282246310005",
            "5555555555554444",
            "6011111111111117",
            "30569309025904",
            "4222222222222",
            "79927398713",
        ] {
            assert!(luhn_valid(n.as_bytes()), "{n}");
        }
    }

    #[test]
    fn luhn_rejects_bad_checksums_and_non_digits() {
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(!luhn_valid(b"79927398710"));
        assert!(!luhn_valid(b"4111-1111-1111-1111"));
        assert!(!luhn_valid(b""));
    }

    #[test]
    fn iban_accepts_valid_numbers() {
        for iban in [
            "DE89370400440532013000",
            "GB82WEST12345698765432",
            "gb82west12345698765432",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "BE68539007547034",
            "NO9386011117947",
            "CH9300762011623852957",
            "ES9121000418450200051332",
            "IT60X0542811101000000123456",
            "PL61109010140000071219812874",
        ] {
            assert!(iban_valid(iban), "{iban}");
        }
    }

    #[test]
    fn iban_rejects_bad_checksum() {
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(!iban_valid("GB82WEST12345698765431"));
    }

    #[test]
    fn iban_rejects_wrong_country_length() {
        // Passes mod-97 and the generic range, but Germany uses 22 characters.
        assert_eq!(iban_mod97(b"DE6812345678901234567"), 1);
        assert!(!iban_valid("DE6812345678901234567"));
        assert_eq!(iban_length(*b"DE"), Some(22));
        assert_eq!(iban_length(*b"NO"), Some(15));
        assert_eq!(iban_length(*b"ZZ"), None);
    }

    #[test]
    fn iban_unknown_country_uses_generic_range() {
        assert!(iban_valid("ZZ9812345678901234567"));
        assert!(!iban_valid("ZZ9712345678901234567"));
        assert!(!iban_valid("ZZ98123456789"));
    }

    #[test]
    fn iban_rejects_malformed_structure() {
        assert!(!iban_valid("1289370400440532013000"));
        assert!(!iban_valid("DEX9370400440532013000"));
        assert!(!iban_valid("DE89 3704 0044 0532 0130 00"));
        assert!(!iban_valid("DE8937040044053201300é"));
    }

    #[test]
    fn sepa_lengths_match_registry() {
        for (cc, len) in [
            (*b"DE", 22),
            (*b"GB", 22),
            (*b"FR", 27),
            (*b"ES", 24),
            (*b"IT", 27),
            (*b"NL", 18),
            (*b"BE", 16),
            (*b"CH", 21),
            (*b"AT", 20),
            (*b"PL", 28),
            (*b"PT", 25),
            (*b"IE", 22),
            (*b"SE", 24),
            (*b"DK", 18),
            (*b"NO", 15),
            (*b"FI", 18),
            (*b"LU", 20),
        ] {
            assert_eq!(iban_length(cc), Some(len));
        }
    }
}
