//! W3C Trace Context: a caller's `traceparent` is passed on to remote runtimes when it is well
//! formed, and dropped otherwise (as the spec asks of a malformed header; the call still runs).

pub const TRACEPARENT: &str = "traceparent";

/// `version-traceid-parentid-flags`, lowercase hex, version 00 (or a later one with at least
/// these fields), neither id all zeros.
pub fn valid(value: &str) -> Option<String> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let [version, trace_id, parent_id, flags, ..] = parts.as_slice() else {
        return None;
    };
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let well_formed = hex(version, 2)
        && *version != "ff"
        && (*version != "00" || parts.len() == 4)
        && hex(trace_id, 32)
        && hex(parent_id, 16)
        && hex(flags, 2)
        && trace_id.bytes().any(|b| b != b'0')
        && parent_id.bytes().any(|b| b != b'0');
    well_formed.then(|| value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spec_example() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(valid(header).as_deref(), Some(header));
    }

    #[test]
    fn refuses_malformed_headers() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(valid(bad), None, "{bad}");
        }
    }
}
