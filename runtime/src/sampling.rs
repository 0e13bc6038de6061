//! Choosing the next token from logits: the logit processors and warpers Caikit/TGIS clients
//! expect (repetition penalty, min-new-tokens, exponential decay length penalty, temperature,
//! top-k, top-p, typical-p), greedy or seeded sampling, and the chosen token's logprob and rank.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How to pick tokens. Neutral values (temperature 1, top_k 0, top_p 1, typical_p 1,
/// repetition_penalty 1) change nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingParams {
    pub greedy: bool,
    pub temperature: f32,
    pub top_k: usize,
    pub top_p: f32,
    pub typical_p: f32,
    pub repetition_penalty: f32,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            greedy: true,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            typical_p: 1.0,
            repetition_penalty: 1.0,
        }
    }
}

/// Past `start_index` generated tokens, EOS gets `|logit| · (decay_factor^(n − start) − 1)` more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LengthPenalty {
    pub start_index: usize,
    pub decay_factor: f32,
}

/// What one step knows about the sequence.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    /// Prompt and generated tokens so far (for the repetition penalty).
    pub tokens: &'a [u32],
    pub generated: usize,
    pub eos: u32,
    pub min_new_tokens: usize,
    pub length_penalty: Option<LengthPenalty>,
}

/// The chosen token, with its log-probability and rank (1 = most likely) under the processed
/// distribution (after penalties, before temperature and truncation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chosen {
    pub id: u32,
    pub logprob: f32,
    pub rank: u32,
}

pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
    seed: u64,
}

impl Sampler {
    /// Without a seed one is drawn, and reported by [`Sampler::seed`] so the caller can replay.
    pub fn new(params: SamplingParams, seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| StdRng::from_os_rng().random());
        Self {
            params,
            rng: StdRng::seed_from_u64(seed),
            seed,
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn choose(&mut self, logits: &mut [f32], step: StepContext<'_>) -> Chosen {
        self.process(logits, step);
        let logprobs = log_softmax(logits);
        let id = if self.params.greedy {
            argmax(logits)
        } else {
            self.sample(logits)
        };
        let chosen = logprobs[id];
        let rank = 1 + logprobs.iter().filter(|&&l| l > chosen).count() as u32;
        Chosen {
            id: id as u32,
            logprob: chosen,
            rank,
        }
    }

    fn process(&self, logits: &mut [f32], step: StepContext<'_>) {
        let penalty = self.params.repetition_penalty;
        if penalty != 1.0 {
            let mut seen = vec![false; logits.len()];
            for &t in step.tokens {
                if let Some(s) = seen.get_mut(t as usize) {
                    *s = true;
                }
            }
            for (logit, _) in logits.iter_mut().zip(&seen).filter(|(_, s)| **s) {
                *logit = if *logit > 0.0 {
                    *logit / penalty
                } else {
                    *logit * penalty
                };
            }
        }
        let eos = step.eos as usize;
        if eos < logits.len() {
            if step.generated < step.min_new_tokens {
                logits[eos] = f32::NEG_INFINITY;
            } else if let Some(p) = step.length_penalty
                && step.generated > p.start_index
            {
                let exponent = (step.generated - p.start_index) as i32;
                logits[eos] += logits[eos].abs() * (p.decay_factor.powi(exponent) - 1.0);
            }
        }
    }

    fn sample(&mut self, logits: &[f32]) -> usize {
        let p = self.params;
        let mut candidates: Vec<(usize, f32)> = logits
            .iter()
            .map(|&l| l / p.temperature)
            .enumerate()
            .filter(|(_, l)| l.is_finite())
            .collect();
        if candidates.is_empty() {
            return argmax(logits);
        }
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
        if p.top_k > 0 {
            candidates.truncate(p.top_k);
        }
        let mut probs = softmax(&candidates.iter().map(|c| c.1).collect::<Vec<_>>());
        if p.typical_p < 1.0 {
            (candidates, probs) = typical(candidates, probs, p.typical_p);
        }
        if p.top_p < 1.0 {
            let mut mass = 0.0;
            let keep = probs
                .iter()
                .position(|&q| {
                    mass += q;
                    mass >= p.top_p
                })
                .map_or(probs.len(), |i| i + 1);
            candidates.truncate(keep);
            probs.truncate(keep);
        }
        let total: f32 = probs.iter().sum();
        let mut draw = self.rng.random::<f32>() * total;
        for (candidate, q) in candidates.iter().zip(&probs) {
            draw -= q;
            if draw <= 0.0 {
                return candidate.0;
            }
        }
        candidates.last().map_or(0, |c| c.0)
    }
}

/// Typical sampling: keep the tokens whose surprise is closest to the entropy, until their mass
/// reaches `mass`. Returns them sorted by probability again.
fn typical(
    candidates: Vec<(usize, f32)>,
    probs: Vec<f32>,
    mass: f32,
) -> (Vec<(usize, f32)>, Vec<f32>) {
    let entropy: f32 = probs
        .iter()
        .filter(|&&q| q > 0.0)
        .map(|&q| -q * q.ln())
        .sum();
    let mut order: Vec<usize> = (0..probs.len()).collect();
    let distance = |i: usize| (-probs[i].ln() - entropy).abs();
    order.sort_by(|&a, &b| distance(a).total_cmp(&distance(b)));
    let mut kept = Vec::new();
    let mut total = 0.0;
    for i in order {
        kept.push(i);
        total += probs[i];
        if total >= mass {
            break;
        }
    }
    kept.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    (
        kept.iter().map(|&i| candidates[i]).collect(),
        kept.iter().map(|&i| probs[i]).collect(),
    )
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

fn softmax(values: &[f32]) -> Vec<f32> {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = values.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Natural-log probabilities of `values` (logits).
pub fn log_softmax(values: &[f32]) -> Vec<f32> {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_sum = values.iter().map(|v| (v - max).exp()).sum::<f32>().ln() + max;
    values.iter().map(|v| v - log_sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(tokens: &[u32]) -> StepContext<'_> {
        StepContext {
            tokens,
            generated: 0,
            eos: 0,
            min_new_tokens: 0,
            length_penalty: None,
        }
    }

    fn sampling(f: impl FnOnce(&mut SamplingParams)) -> SamplingParams {
        let mut p = SamplingParams {
            greedy: false,
            ..Default::default()
        };
        f(&mut p);
        p
    }

    #[test]
    fn greedy_takes_the_argmax_with_its_logprob_and_rank() {
        let mut sampler = Sampler::new(SamplingParams::default(), Some(1));
        let mut logits = vec![0.0, 2.0, 1.0];
        let chosen = sampler.choose(&mut logits, step(&[]));
        assert_eq!((chosen.id, chosen.rank), (1, 1));
        let expected = 2.0 - (1f32.exp() + 2f32.exp() + 1.0f32).ln();
        assert!((chosen.logprob - expected).abs() < 1e-6);
    }

    #[test]
    fn the_same_seed_draws_the_same_tokens() {
        let logits = vec![1.0, 1.1, 0.9, 1.05, 0.95];
        let draw = |seed| {
            let mut s = Sampler::new(sampling(|_| {}), Some(seed));
            (0..32)
                .map(|_| s.choose(&mut logits.clone(), step(&[])).id)
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let unseeded = Sampler::new(sampling(|_| {}), None);
        let replay = Sampler::new(sampling(|_| {}), Some(unseeded.seed()));
        assert_eq!(unseeded.seed(), replay.seed());
    }

    #[test]
    fn truncation_warpers_narrow_the_choice() {
        let logits = vec![3.0, 2.9, 0.0, -1.0];
        for params in [sampling(|p| p.top_k = 1), sampling(|p| p.top_p = 0.01)] {
            let mut s = Sampler::new(params, Some(3));
            for _ in 0..20 {
                assert_eq!(s.choose(&mut logits.clone(), step(&[])).id, 0, "{params:?}");
            }
        }
        // A low temperature sharpens a clear lead (1.0 apart → e^-20) into near-certainty.
        let mut s = Sampler::new(sampling(|p| p.temperature = 0.05), Some(3));
        for _ in 0..20 {
            assert_eq!(s.choose(&mut [3.0, 2.0, 0.0], step(&[])).id, 0);
        }
        let mut s = Sampler::new(sampling(|p| p.top_k = 2), Some(3));
        for _ in 0..50 {
            assert!(s.choose(&mut logits.clone(), step(&[])).id < 2);
        }
        let mut s = Sampler::new(sampling(|p| p.typical_p = 0.5), Some(3));
        for _ in 0..50 {
            assert!(s.choose(&mut logits.clone(), step(&[])).id < 2);
        }
    }

    #[test]
    fn processors_penalise_repeats_and_steer_eos() {
        let sampler = Sampler::new(
            SamplingParams {
                repetition_penalty: 2.0,
                ..Default::default()
            },
            Some(1),
        );
        let mut logits = vec![1.0, 4.0, -1.0, 3.0];
        sampler.process(&mut logits, step(&[1, 2]));
        assert_eq!(logits, vec![1.0, 2.0, -2.0, 3.0]);

        let sampler = Sampler::new(SamplingParams::default(), Some(1));
        let mut logits = vec![5.0, 1.0];
        sampler.process(
            &mut logits,
            StepContext {
                min_new_tokens: 3,
                generated: 2,
                ..step(&[])
            },
        );
        assert_eq!(
            logits[0],
            f32::NEG_INFINITY,
            "EOS is suppressed before min_new_tokens"
        );

        let mut logits = vec![2.0, 1.0];
        let penalty = Some(LengthPenalty {
            start_index: 1,
            decay_factor: 2.0,
        });
        sampler.process(
            &mut logits,
            StepContext {
                generated: 3,
                length_penalty: penalty,
                ..step(&[])
            },
        );
        assert_eq!(
            logits[0],
            2.0 + 2.0 * (4.0 - 1.0),
            "EOS grows past start_index"
        );
    }
}
