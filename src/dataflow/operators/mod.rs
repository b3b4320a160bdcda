//! The crate's own incremental operators, apart from the metric families
//! that use them. Each is generic over its records, has a contract stated in
//! its module, and a reference test (`tests/operators/`) that compares it
//! with a plain-Rust model at every epoch.
//!
//! ```text
//! arranged::arrange_by_key key -> value arranged, update lists grown as filled, not reserved
//!                          (friends by user, topic vectors, accounts; read by lookup)
//! set::keyed_state         records + nightly changes ─▶ the set, one record per key
//!                          (graph: friendships, adoptions)
//! combine::combine_locally a worker's updates summed per (record, time) before exchange
//!                          (friends: endpoint counts)
//! count::count_current     each record's current multiplicity, held in a hash map, not an
//!                          arrangement (topical: reach)
//! current::reduce_current  per key, logic over the key's current values; emits the change
//!                          (reduce_current_kept: one output per key, kept, so logic runs once a change)
//!                          (topical, leaders, tiers; stash/next_complete: the pending-times loop;
//!                          per_changed_key: the shell both share with assemble)
//! fields::assemble        per key, a struct of fields that each hold one current value;
//!                          emits the change of the row they make (topical: user_topics)
//! global::with_global     each key's value with a small broadcast collection; a change of
//!                          that collection recomputes every key (customers: RFM scores)
//! multiset::multiset      records that repeat + nightly changes ─▶ the multiset, `-` removing
//!                          one copy if there is one (customers: purchases)
//! lookup::lookup           requests looked up in an arrangement, at times Before or Through
//!                          the request's (topical: the half joins of the delta query)
//! ```
//!
//! All assume this crate's times: epochs (`u32`) in a total order, each
//! complete before the next is worked on.

pub mod arranged;
pub mod combine;
pub mod count;
pub mod current;
pub mod fields;
pub mod global;
pub mod lookup;
pub mod multiset;
pub mod set;
