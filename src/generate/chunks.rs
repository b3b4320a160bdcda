//! The model's draws, chunk by chunk: edge chunks (Chung-Lu endpoints from
//! the user alias table, with the planted cascades' followers found along
//! the edges that touch a seed) and adoption chunks (spontaneous adoptions
//! per user, then each seed's planted one). Any chunk can be drawn alone.

use super::model::{MAX_REDRAWS, TAG_ADOPT, TAG_EDGES, TAG_FOLLOW};
use super::random::{below, hash3, unit, Rng};
use super::{Adoption, Model, EDGE_CHUNK, FOLLOW_WINDOW_DAYS, SPAN_DAYS, START_DAY, USER_CHUNK};
use crate::hash::mix;

impl Model {
    /// Generates edge chunk `chunk` (edges `chunk * EDGE_CHUNK ..`, at most
    /// `EDGE_CHUNK` of them): calls `edge(a, b)` for each edge (never a
    /// self-loop; an edge may repeat, in either orientation), and, right
    /// after an edge touching a cascade seed, `adoption` for the friend's
    /// cascade adoption when the friend follows. Whether and when a friend
    /// follows a seed depends only on `(seed, seed user, friend)`, so a
    /// repeated edge repeats the same adoption.
    ///
    /// Panics if `chunk >= self.edge_chunks()`.
    pub fn edge_chunk(
        &self,
        chunk: usize,
        edge: impl FnMut(u64, u64),
        mut adoption: impl FnMut(Adoption),
    ) {
        self.edge_chunk_with(chunk, edge, |_, _, followed| {
            if let Some(a) = followed {
                adoption(a)
            }
        })
    }

    /// [`Model::edge_chunk`], reporting every (seed index, friend) contact
    /// with the friend's cascade adoption if it follows.
    pub(super) fn edge_chunk_with(
        &self,
        chunk: usize,
        mut edge: impl FnMut(u64, u64),
        mut contact: impl FnMut(u32, u64, Option<Adoption>),
    ) {
        assert!(
            chunk < self.edge_chunks(),
            "edge chunk {chunk} out of range (the model has {})",
            self.edge_chunks()
        );
        let lo = chunk as u64 * EDGE_CHUNK;
        let hi = (lo + EDGE_CHUNK).min(self.edges);
        let n = self.params.users;
        let mut rng = Rng::stream(self.params.seed, TAG_EDGES, chunk as u64);
        for _ in lo..hi {
            let a = self.users_alias.sample(&mut rng);
            let mut b = self.users_alias.sample(&mut rng);
            let mut redraws = 0;
            while b == a {
                redraws += 1;
                b = if redraws <= MAX_REDRAWS {
                    self.users_alias.sample(&mut rng)
                } else {
                    (a + 1 + rng.below(n - 1)) % n
                };
            }
            edge(a, b);
            if let Some(i) = self.seed_of(a) {
                contact(i, b, self.follow(i, b));
            }
            if let Some(i) = self.seed_of(b) {
                contact(i, a, self.follow(i, a));
            }
        }
    }

    /// The index in `planted` of `user` if it is a seed.
    fn seed_of(&self, user: u64) -> Option<u32> {
        if self.seed_bits[(user / 64) as usize] & (1 << (user % 64)) == 0 {
            return None;
        }
        self.seed_index.get(&user).copied()
    }

    /// Whether `friend` follows seed `index`, and when. Stable: with
    /// `h = mix(hash3(params.seed, TAG_FOLLOW, seed user) ^ friend)`, the
    /// friend follows iff `unit(h) < cascade_follow_prob`, on day
    /// `seed day + 1 + below(mix(h), FOLLOW_WINDOW_DAYS)` (see [`unit()`] and
    /// [`below`]).
    pub(super) fn follow(&self, index: u32, friend: u64) -> Option<Adoption> {
        let seed = self.planted[index as usize];
        let h = mix(hash3(self.params.seed, TAG_FOLLOW, seed.user) ^ friend);
        if unit(h) >= self.params.cascade_follow_prob {
            return None;
        }
        let offset = 1 + below(mix(h), FOLLOW_WINDOW_DAYS as u64) as i32;
        Some(Adoption {
            user: friend,
            topic: seed.topic,
            day: seed.day + offset,
        })
    }

    /// Number of adoption chunks: `ceil(users / USER_CHUNK)`.
    pub fn adoption_chunks(&self) -> usize {
        self.params.users.div_ceil(USER_CHUNK) as usize
    }

    /// Generates adoption chunk `chunk` (users `chunk * USER_CHUNK ..`, at
    /// most `USER_CHUNK` of them), user by user: a Poisson(`adoptions_per_user`)
    /// number of spontaneous adoptions, each with a Zipf topic and a day
    /// uniform in `START_DAY .. START_DAY + SPAN_DAYS`; then, for a seed, its
    /// planted adoption. A seed's spontaneous adoptions of its own cascade
    /// topic are dropped, so the planted day is its only adoption of it.
    /// A user may draw the same topic twice (two observations; the job keeps
    /// the earliest day).
    ///
    /// Panics if `chunk >= self.adoption_chunks()`.
    pub fn adoption_chunk(&self, chunk: usize, mut adoption: impl FnMut(Adoption)) {
        assert!(
            chunk < self.adoption_chunks(),
            "adoption chunk {chunk} out of range (the model has {})",
            self.adoption_chunks()
        );
        let lo = chunk as u64 * USER_CHUNK;
        let hi = (lo + USER_CHUNK).min(self.params.users);
        let mut rng = Rng::stream(self.params.seed, TAG_ADOPT, chunk as u64);
        let mut next_seed = self.planted.partition_point(|s| s.user < lo);
        for user in lo..hi {
            let seed = self
                .planted
                .get(next_seed)
                .filter(|s| s.user == user)
                .copied();
            let count = self.poisson(&mut rng);
            for _ in 0..count {
                let topic = self.topics_alias.sample(&mut rng) as u32;
                let day = START_DAY + rng.below(SPAN_DAYS as u64) as i32;
                if seed.is_some_and(|s| s.topic == topic) {
                    continue;
                }
                adoption(Adoption { user, topic, day });
            }
            if let Some(s) = seed {
                adoption(Adoption {
                    user,
                    topic: s.topic,
                    day: s.day,
                });
                next_seed += 1;
            }
        }
    }

    /// A Poisson(`adoptions_per_user`) count: the sum of `poisson_full`
    /// Poisson(30) draws and one Poisson(rest) draw, each by Knuth's method
    /// (multiply uniforms until the product is at most `exp(-lambda)`).
    fn poisson(&self, rng: &mut Rng) -> u64 {
        let knuth = |rng: &mut Rng, limit: f64| {
            let mut k = 0;
            let mut product = rng.unit();
            while product > limit {
                k += 1;
                product *= rng.unit();
            }
            k
        };
        let mut count = 0;
        for _ in 0..self.poisson_full {
            count += knuth(rng, self.poisson_l_full);
        }
        if self.poisson_l_rest < 1.0 {
            count += knuth(rng, self.poisson_l_rest);
        }
        count
    }
}
