//! Topical influence: which friends adopted the same topic, and who
//! persuaded whom.
//!
//! Everything derives from the co-adoptions: friendships `{a, b}` (with
//! `a < b`) whose ends both adopted a topic `t`, with both days. A plain
//! pair of joins (adoptions ⋈ friends ⋈ adoptions) would materialise one
//! record per friend per topic of each user before filtering (about 450M at
//! 1M users), so instead:
//!
//! 1. each user's adoptions become one sorted vector of `(topic, day)`,
//!    arranged by user ([`topic_vectors`]);
//! 2. each friendship looks up both ends' vectors and intersects them
//!    ([`co_adoptions`]), through [`lookup`] half joins that arrange nothing
//!    on the streaming side.
//!
//! For `V(a) ⋈ V(b) ⋈ F(a,b)` to stay correct when friendships and vectors
//! change in the same round, the change is split into three delta paths
//! (the product rule, inputs in the order `V(a), V(b), F`), each seeing the
//! other inputs either before (`<t`) or through (`<=t`) the round:
//!
//! ```text
//! dV(a)   ⋈ F<t  ⋈ V(b)<t
//! dV(b)   ⋈ F<t  ⋈ V(a)<=t
//! dF(a,b) ⋈ V(a)<=t ⋈ V(b)<=t
//! ```
//!
//! which sum exactly to the change of the three-way product. In a batch run
//! everything happens at time 0, where nothing is before `t`: the first two
//! paths stop at their first lookup without touching the arrangement, and
//! each friendship meets both ends' vectors once. A night re-emits the
//! friendships of users whose vectors changed, never quadratic work: a
//! super-connector costs its friend count. A changed vector travels as its
//! [`Delta`] (only the entries that left or arrived, signed; by
//! `dV = V_new - V_old` and the bilinearity of the intersection, that is
//! the same change), so it meets each friend once, not as an old and a new
//! version that mostly cancel. Vectors and deltas are shared (`Arc`), so
//! carrying one along a friendship copies a pointer, not the vector.
//!
//! From co-adoptions, per adoption `(u, t)` (METRICS.md):
//! `reach` counts co-adopting friends; an influence edge `u -> v` is a
//! co-adoption with `1 <= a(v,t) - a(u,t) <= W`; `persuaded(u,t)` counts
//! u's outgoing edges; `k(v,t)` counts v's incoming ones; and
//! `credit(u,t) = sum over u -> v of 1 / k(v,t)`, summed in ascending `k`
//! so the bits do not depend on the worker count (exactly, as a fraction
//! rounded once: [`super::fraction`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use differential_dataflow::consolidation::consolidate;
use differential_dataflow::AsCollection;

use super::fraction::credit_of;
use super::friends::FriendsByUser;
use super::operators::arranged::{Builder, ByKeySpine};
use super::operators::count::count_current;
use super::operators::current::{
    next_complete, reduce_current, reduce_current_kept, stash, Pending,
};
use super::operators::fields::{assemble, Fields};
use super::operators::lookup::{lookup, lookup_touching, ByKey, Times};
use super::{Coll, Day, Diff, Topic, User};
use crate::hash::mix;
use crate::tables::Decimal;

/// One user's adoptions, `(topic, day)` sorted by topic, shared by pointer.
pub type Vector = Arc<[(Topic, Day)]>;

/// Each user's adoptions as a [`Vector`], arranged by user.
pub type Vectors<'s> = ByKey<'s, User, Vector>;

/// A co-adoption: friends `a < b` who both adopted `topic`, on `day_a` and `day_b`.
pub type CoAdoption = (User, User, Topic, Day, Day);

/// Per adoption, everything the tables need (topics as ids).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct UserTopic {
    /// The adopter.
    pub user: User,
    /// The topic.
    pub topic: Topic,
    /// The adoption day.
    pub day: Day,
    /// Friends who adopted the same topic.
    pub reach: u32,
    /// Friends who adopted 1..=W days later.
    pub persuaded: u32,
    /// Friends who adopted 1..=W days earlier: `k(u,t)`.
    pub persuaders: u32,
    /// Credit received from the persuaded friends.
    pub credit: Decimal,
}

/// Arranges each user's adoptions as one vector, by user.
pub fn topic_vectors<'s>(adoptions: Coll<'s, ((User, Topic), Day)>) -> Vectors<'s> {
    adoptions
        .map(|((user, topic), day)| (user, (topic, day)))
        .arrange_by_key_named("AdoptionsByUser")
        .reduce_abelian::<_, Builder<User, Vector>, ByKeySpine<User, Vector>, _, _>(
            "TopicVectors",
            |_user, adopted, output| {
                // One (topic, day) per topic, sorted by topic: the input is sorted.
                let vector: Vec<(Topic, Day)> = adopted
                    .iter()
                    .filter(|(_, diff)| *diff > 0)
                    .map(|(adoption, _)| **adoption)
                    .collect();
                output.push((vector.into(), 1));
            },
            |vec, key, upds| {
                vec.clear();
                vec.extend(upds.drain(..).map(|(v, t, r)| ((*key, v), t, r)));
            },
        )
}

/// Asks the CPU to bring `data`'s cache line in, without waiting for it.
fn prefetch<T>(data: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(data.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data; // no hint elsewhere: the read just waits
}

/// The topics two sorted vectors share, pushed as co-adoptions of `a` and `b`.
pub fn intersect(
    a: User,
    vector_a: &[(Topic, Day)],
    b: User,
    vector_b: &[(Topic, Day)],
    shared: &mut Vec<CoAdoption>,
) {
    let (mut i, mut j) = (0, 0);
    while i < vector_a.len() && j < vector_b.len() {
        let ((topic_a, day_a), (topic_b, day_b)) = (vector_a[i], vector_b[j]);
        match topic_a.cmp(&topic_b) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared.push((a, b, topic_a, day_a, day_b));
                i += 1;
                j += 1;
            }
        }
    }
}

/// How a user's vector changed in one round: the `(topic, day)` entries
/// that left (`-1`) and arrived (`+1`), sorted. An adoption whose day moved
/// is both; entries the old and new vectors share are not in it.
pub type Delta = Arc<[(Topic, Day, Diff)]>;

/// Pairs each changed vector's old and new versions (the `-1` and `+1`
/// updates a round leaves in the vectors' arrangement, on the worker that
/// holds the user) into one [`Delta`]: a changed vector then meets each
/// friend once, and only its changed topics go on to the counts, instead
/// of its old and new versions in full, which cancel but for those.
fn vector_deltas<'s>(changes: Coll<'s, (User, Vector)>) -> Coll<'s, (User, Delta)> {
    changes
        .inner
        .unary_frontier(Pipeline, "VectorDeltas", |_capability, _info| {
            let mut pending: Pending<User, Vector> = BTreeMap::new();
            move |(input, frontier), output| {
                input.for_each_stamp(|capability, data| {
                    for batch in data {
                        stash(&mut pending, &capability, batch);
                    }
                });
                while let Some((capability, mut changes)) =
                    next_complete(&mut pending, frontier.frontier())
                {
                    let time = *capability.time();
                    if time == 0 {
                        // The base: its deltas would meet friendships `Before`
                        // time 0, of which there are none.
                        continue;
                    }
                    changes.sort_by_key(|((user, _), _)| *user);
                    let mut session = output.session(&capability);
                    let mut entries: Vec<((Topic, Day), Diff)> = Vec::new();
                    for group in changes.chunk_by(|x, y| x.0 .0 == y.0 .0) {
                        entries.clear();
                        for ((_, vector), diff) in group {
                            entries.extend(vector.iter().map(|&entry| (entry, *diff)));
                        }
                        consolidate(&mut entries);
                        if !entries.is_empty() {
                            let delta: Delta = entries
                                .iter()
                                .map(|&((topic, day), diff)| (topic, day, diff))
                                .collect();
                            session.give(((group[0].0 .0, delta), time, 1));
                        }
                    }
                }
            }
        })
        .as_collection()
}

/// The co-adoptions a changed vector's [`Delta`] makes with a friend's
/// vector, each with the sign of its entry. `changed_is_a`: whether the
/// changed user is the lower end `a` of the friendship.
fn intersect_delta(
    changed: User,
    delta: &[(Topic, Day, Diff)],
    friend: User,
    vector: &[(Topic, Day)],
    changed_is_a: bool,
    shared: &mut Vec<(CoAdoption, Diff)>,
) {
    let mut j = 0;
    for &(topic, day, sign) in delta {
        while j < vector.len() && vector[j].0 < topic {
            j += 1;
        }
        match vector.get(j) {
            Some(&(other_topic, other_day)) if other_topic == topic => {
                let co_adoption = if changed_is_a {
                    (changed, friend, topic, day, other_day)
                } else {
                    (friend, changed, topic, other_day, day)
                };
                shared.push((co_adoption, sign));
            }
            Some(_) => {}
            None => break,
        }
    }
}

/// Co-adoptions along each friendship (see the module docs for the three paths).
///
/// Without `by_user` (a batch run, where every change is at time 0 and the
/// vector paths would find nothing before it) only the friendship path is built.
pub fn co_adoptions<'s>(
    friendships: Coll<'s, (User, User)>,
    by_user: Option<&FriendsByUser<'s>>,
    vectors: &Vectors<'s>,
) -> Coll<'s, CoAdoption> {
    // dF(a,b) ⋈ V(a)<=t ⋈ V(b)<=t: the friendship changed.
    let with_a = lookup(
        "FriendshipMeetsVectorA",
        friendships,
        vectors,
        Times::Through,
        |a, b, vector_a, out| out.push((*b, (*a, vector_a.clone()))),
    );
    let from_friendships = lookup_touching(
        "FriendshipMeetsVectorB",
        with_a,
        vectors,
        Times::Through,
        |(_, vector_a): &(User, Vector)| prefetch(vector_a.as_ptr()),
        |b, (a, vector_a), vector_b, out| intersect(*a, vector_a, *b, vector_b, out),
    );

    let Some(by_user) = by_user else {
        return from_friendships;
    };
    let deltas = vector_deltas(
        vectors
            .clone()
            .as_collection(|user, vector| (*user, vector.clone())),
    );

    // dV(a) ⋈ F<t ⋈ V(b)<t: a's vector changed; b is a higher friend.
    let up = lookup(
        "VectorMeetsHigherFriends",
        deltas.clone(),
        by_user,
        Times::Before,
        |a, delta_a, b, out| {
            if b > a {
                out.push((*b, (*a, delta_a.clone())));
            }
        },
    );
    let from_lower = lookup(
        "LowerVectorMeetsVectorB",
        up,
        vectors,
        Times::Before,
        |b, (a, delta_a), vector_b, out| intersect_delta(*a, delta_a, *b, vector_b, true, out),
    )
    .explode(|(co_adoption, sign)| Some((co_adoption, sign)));

    // dV(b) ⋈ F<t ⋈ V(a)<=t: b's vector changed; a is a lower friend.
    let down = lookup(
        "VectorMeetsLowerFriends",
        deltas,
        by_user,
        Times::Before,
        |b, delta_b, a, out| {
            if a < b {
                out.push((*a, (*b, delta_b.clone())));
            }
        },
    );
    let from_higher = lookup(
        "HigherVectorMeetsVectorA",
        down,
        vectors,
        Times::Through,
        |a, (b, delta_b), vector_a, out| intersect_delta(*b, delta_b, *a, vector_a, false, out),
    )
    .explode(|(co_adoption, sign)| Some((co_adoption, sign)));

    from_friendships.concat(from_lower).concat(from_higher)
}

/// What `CreditShares` says of a persuaded adoption: how many persuaders it
/// has (k), and for each of them, its share 1/k.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
enum Share {
    Persuaders(u32),
    To(User, u32),
}

/// The values assembled per adoption, one per field of [`Assembled`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
enum Part {
    Adopted(Day),
    Reach(u32),
    Persuaders(u32),
    /// The credit and the persuaded count, which change together.
    Credited(Decimal, u32),
}

/// An adoption's current parts, inline (24 bytes): a field's default is
/// what the row says when the part is absent.
#[derive(Clone, Debug, PartialEq)]
struct Assembled {
    /// The adoption day; [`NOT_ADOPTED`] while there is no adoption.
    day: Day,
    reach: u32,
    persuaded: u32,
    persuaders: u32,
    credit: Decimal,
}

/// The day of an adoption that is not there (no real day is this far back).
const NOT_ADOPTED: Day = Day::MIN;

impl Default for Assembled {
    fn default() -> Self {
        Assembled {
            day: NOT_ADOPTED,
            reach: 0,
            persuaded: 0,
            persuaders: 0,
            credit: Decimal(0.0),
        }
    }
}

impl Fields for Assembled {
    type Value = Part;
    fn insert(&mut self, part: &Part) {
        match *part {
            Part::Adopted(day) => self.day = day,
            Part::Reach(n) => self.reach = n,
            Part::Persuaders(n) => self.persuaders = n,
            Part::Credited(credit, n) => (self.credit, self.persuaded) = (credit, n),
        }
    }
    fn retract(&mut self, part: &Part) {
        let empty = Assembled::default();
        match *part {
            Part::Adopted(day) if self.day == day => self.day = empty.day,
            Part::Reach(n) if self.reach == n => self.reach = empty.reach,
            Part::Persuaders(n) if self.persuaders == n => self.persuaders = empty.persuaders,
            Part::Credited(credit, n) if (self.credit, self.persuaded) == (credit, n) => {
                (self.credit, self.persuaded) = (empty.credit, empty.persuaded);
            }
            _ => {}
        }
    }
}

/// The credit shares: per persuaded adoption `(v, t)`, its k and each of
/// its persuaders (read by the customers' influenced revenue).
pub struct Shares<'s>(Coll<'s, ((User, Topic), Share)>);

impl<'s> Shares<'s> {
    /// `((v, t), u)` for each persuader `u` of the persuaded adoption `(v, t)`.
    pub fn persuaders(self) -> Coll<'s, ((User, Topic), User)> {
        self.0.flat_map(|(adoption, share)| match share {
            Share::To(persuader, _) => Some((adoption, persuader)),
            Share::Persuaders(_) => None,
        })
    }
}

/// Per persuader adoption `(u, t)` (persuaded(u,t) >= 1): its credit and
/// persuaded(u,t), which change together.
pub type Credited<'s> = Coll<'s, ((User, Topic), (Decimal, u32))>;

/// What [`user_topics`] computes.
pub struct Topical<'s> {
    /// One [`UserTopic`] per current adoption.
    pub rows: Coll<'s, UserTopic>,
    /// The credit shares the credits were computed from.
    pub shares: Shares<'s>,
    /// The adoptions with credit, alone: what the users' totals read (a
    /// change of reach or k alone changes a row, not these).
    pub credited: Credited<'s>,
}

/// Every per-adoption metric, one [`UserTopic`] per current adoption, and
/// the credit shares and credits they were computed from.
///
/// `nights`: whether later times follow the base (then the counts are held).
pub fn user_topics<'s>(
    adoptions: Coll<'s, ((User, Topic), Day)>,
    co_adoptions: Coll<'s, CoAdoption>,
    window_days: u32,
    nights: bool,
) -> Topical<'s> {
    let window = i64::from(window_days);
    // Counted where `UserTopics` reads them (`adoption_route`).
    let reach = count_current(
        co_adoptions
            .clone()
            .flat_map(|(a, b, topic, _, _)| [(a, topic), (b, topic)]),
        "Reach",
        nights,
        adoption_route,
    );
    // Influence edges, keyed by the persuaded adoption: ((v, t), u).
    let edges = co_adoptions.flat_map(move |(a, b, topic, day_a, day_b)| {
        let gap = i64::from(day_b) - i64::from(day_a);
        if (1..=window).contains(&gap) {
            Some(((b, topic), a))
        } else if (1..=window).contains(&-gap) {
            Some(((a, topic), b))
        } else {
            None
        }
    });
    // Each persuaded adoption (v, t) hands 1/k to each of its k persuaders;
    // the same reduction also says k itself (`persuaders`), so the edges are
    // held once here and once by persuader in `Credit`.
    let shares = reduce_current(
        edges,
        "CreditShares",
        adoption_route,
        |&adoption, persuaders, output| {
            let k: Diff = persuaders.iter().map(|(_, diff)| *diff).sum();
            output.push((adoption, Share::Persuaders(k as u32)));
            for (persuader, _) in persuaders {
                output.push((adoption, Share::To(*persuader, k as u32)));
            }
        },
    );
    let kept = Shares(shares.clone());
    let persuaders = shares.clone().flat_map(|(adoption, share)| match share {
        Share::Persuaders(k) => Some((adoption, k)),
        Share::To(..) => None,
    });
    // Per persuader adoption (u, t): its credit (the shares 1/k summed), and
    // persuaded(u, t), the number of shares (one per influence edge).
    let shares_by_persuader = shares.flat_map(|((_, topic), share)| match share {
        Share::To(persuader, k) => Some(((persuader, topic), k)),
        Share::Persuaders(_) => None,
    });
    let credit = reduce_current_kept(shares_by_persuader, "Credit", adoption_route, |_, ks| {
        let persuaded: Diff = ks.iter().map(|(_, n)| *n).sum();
        let shares = ks.iter().map(|(k, n)| (*k, *n));
        (Decimal(credit_of(shares)), persuaded as u32)
    });

    let parts =
        adoptions
            .map(|(adoption, day)| (adoption, Part::Adopted(day)))
            .concat(reach.map(|(adoption, n)| (adoption, Part::Reach(n as u32))))
            .concat(persuaders.map(|(adoption, k)| (adoption, Part::Persuaders(k))))
            .concat(credit.clone().map(|(adoption, (credit, persuaded))| {
                (adoption, Part::Credited(credit, persuaded))
            }));
    let rows = assemble(
        parts,
        "UserTopics",
        adoption_route,
        |&(user, topic), fields: &Assembled| {
            (fields.day != NOT_ADOPTED).then_some(UserTopic {
                user,
                topic,
                day: fields.day,
                reach: fields.reach,
                persuaded: fields.persuaded,
                persuaders: fields.persuaders,
                credit: fields.credit,
            })
        },
    );
    Topical {
        rows,
        shares: kept,
        credited: credit,
    }
}

/// Sends an adoption's rows to their worker.
fn adoption_route(&(user, topic): &(User, Topic)) -> u64 {
    mix(u64::from(user) ^ mix(u64::from(topic)))
}
