//! Stop sequences over streamed text. Text that could still turn into a stop sequence is held
//! back, so a streamed client never receives characters that the final text drops, and the
//! concatenated deltas always equal the final text.

/// A stop sequence found in the generated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopMatch {
    /// Byte offset where the stop sequence starts.
    pub start: usize,
    pub len: usize,
}

pub struct StopMatcher {
    stops: Vec<String>,
    include_stop: bool,
    text: String,
    emitted: usize,
    /// Text before this offset has been searched (a match may still end after it).
    searched: usize,
}

impl StopMatcher {
    pub fn new(stops: Vec<String>, include_stop: bool) -> Self {
        Self {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            include_stop,
            text: String::new(),
            emitted: 0,
            searched: 0,
        }
    }

    /// Appends decoded text; `search` is false while stop sequences may not end generation yet
    /// (before `min_new_tokens`).
    pub fn push(&mut self, delta: &str, search: bool) -> Option<StopMatch> {
        self.text.push_str(delta);
        if !search {
            self.searched = self.text.len();
            return None;
        }
        let found = self
            .stops
            .iter()
            .filter_map(|stop| {
                // A match may begin up to `stop.len() - 1` bytes before the new text.
                let mut from = self.searched.saturating_sub(stop.len() - 1);
                while !self.text.is_char_boundary(from) {
                    from -= 1;
                }
                self.text[from..].find(stop.as_str()).map(|at| StopMatch {
                    start: from + at,
                    len: stop.len(),
                })
            })
            .min_by_key(|m| (m.start, m.len));
        self.searched = self.text.len();
        found
    }

    /// Text that can be sent now: everything not already sent except a tail that is the
    /// beginning of a stop sequence.
    pub fn take_ready(&mut self) -> String {
        let held = self
            .stops
            .iter()
            .flat_map(|stop| {
                (1..stop.len())
                    .rev()
                    .filter(|&n| stop.is_char_boundary(n))
                    .find(|&n| self.text.ends_with(&stop[..n]))
            })
            .max()
            .unwrap_or(0);
        let end = (self.text.len() - held).max(self.emitted);
        self.take_until(end)
    }

    /// The rest of the final text: up to (and with `include_stop`, including) `stop`, or all of
    /// it when generation ended another way.
    pub fn take_final(&mut self, stop: Option<StopMatch>) -> String {
        let end = match stop {
            Some(m) if self.include_stop => m.start + m.len,
            Some(m) => m.start,
            None => self.text.len(),
        };
        self.take_until(end.max(self.emitted))
    }

    fn take_until(&mut self, end: usize) -> String {
        let ready = self.text[self.emitted..end].to_string();
        self.emitted = end;
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], include: bool, deltas: &[&str]) -> (Vec<String>, bool) {
        let mut m = StopMatcher::new(stops.iter().map(|s| s.to_string()).collect(), include);
        let mut out = Vec::new();
        for d in deltas {
            if let Some(hit) = m.push(d, true) {
                out.push(m.take_final(Some(hit)));
                return (out, true);
            }
            out.push(m.take_ready());
        }
        out.push(m.take_final(None));
        (out, false)
    }

    #[test]
    fn a_stop_split_across_deltas_is_found_and_never_sent() {
        let (out, stopped) = run(&["END"], false, &["Hello E", "N", "D more"]);
        assert!(stopped);
        assert_eq!(out.concat(), "Hello ");
        assert_eq!(out[0], "Hello ");
    }

    #[test]
    fn include_stop_keeps_the_stop_and_drops_what_follows() {
        let (out, _) = run(&["\n\n"], true, &["one\n", "\ntwo"]);
        assert_eq!(out.concat(), "one\n\n");
    }

    #[test]
    fn a_false_start_is_released_once_it_cannot_match() {
        let (out, stopped) = run(&["END"], false, &["an E", "x", "it"]);
        assert!(!stopped);
        assert_eq!(out, vec!["an ", "Ex", "it", ""]);
    }

    #[test]
    fn the_earliest_of_several_stops_wins() {
        let (out, _) = run(&["cd", "b"], false, &["abcd"]);
        assert_eq!(out.concat(), "a");
    }

    #[test]
    fn multibyte_stops_and_text_keep_char_boundaries() {
        let (out, stopped) = run(&["é!"], false, &["café", "é", "!x"]);
        assert!(stopped);
        assert_eq!(out.concat(), "café");
        let (out, stopped) = run(&["🙂"], true, &["a🙂b"]);
        assert!(stopped);
        assert_eq!(out.concat(), "a🙂");
    }

    #[test]
    fn no_search_before_min_tokens() {
        let mut m = StopMatcher::new(vec!["x".into()], false);
        assert_eq!(m.push("axb", false), None);
        assert_eq!(m.push("cx", true), Some(StopMatch { start: 4, len: 1 }));
    }
}
