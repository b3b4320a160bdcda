//! Rows assembled per key from fields that each hold one current value.
//!
//! A table row often gathers, per key, one value from each of several
//! collections that are functions of the key: an adoption's day, its reach
//! count, its credit. [`reduce_current`](super::current::reduce_current)
//! could assemble them, but it keeps every key's values as a vector (one
//! allocation per key, each value with its count) and calls its logic on
//! the values before and after each change. When each field holds at most
//! one value at a time, the key's state is a plain struct of those fields,
//! stored inline in the map: [`assemble`] keeps exactly that, and a change
//! costs setting or clearing a field.
//!
//! Contract: for each key and each field, the input holds at most one
//! value at any epoch, with count 1; within an epoch a field's value may be
//! retracted (`-1`) and another inserted (`+1`), in either order. So
//! [`Fields::insert`] overwrites the field, and [`Fields::retract`] clears
//! it only if it still holds the retracted value. Any other count breaks
//! the contract and panics, naming the operator. A key whose fields are all
//! back to their default is forgotten. `view` turns a key's fields into at
//! most one output row; the operator emits the difference between the row
//! before and after each epoch's changes.
//!
//! Measured at 1M users (`user_topics`, 4.7M adoptions, 2 workers, `reach
//! serve` over three nights): the per-adoption state went from a vector of
//! parts (about 110 bytes, one allocation per adoption; heaptrack: 0.53 GB)
//! to 24 bytes inline, and resident memory after each night fell by
//! 0.45-0.52 GB (system allocator, whose figures repeat run to run).

use std::hash::Hash;

use differential_dataflow::ExchangeData;

use super::current::per_changed_key;
use crate::dataflow::Coll;

/// A key's fields, each empty (its default) or holding one value.
pub trait Fields: Default + Clone + PartialEq + 'static {
    /// A value of one of the fields (which field: the value's variant).
    type Value: ExchangeData + Ord;
    /// Sets the field of `value` to it.
    fn insert(&mut self, value: &Self::Value);
    /// Empties the field of `value` if it holds `value`.
    fn retract(&mut self, value: &Self::Value);
}

/// Keeps each key's [`Fields`] current and emits the change of `view` of
/// them (see the module docs for the contract).
///
/// `route` sends a key to its worker (as for `reduce_current`).
pub fn assemble<'s, K, F, O>(
    input: Coll<'s, (K, F::Value)>,
    name: &str,
    route: impl Fn(&K) -> u64 + 'static,
    view: impl Fn(&K, &F) -> Option<O> + 'static,
) -> Coll<'s, O>
where
    K: ExchangeData + Hash + Eq + Ord,
    F: Fields,
    O: ExchangeData + Eq,
{
    let name_owned = name.to_string();
    per_changed_key(
        input,
        name,
        route,
        move |key, fields: &mut F, changes, out| {
            let before = view(key, fields);
            for (value, diff) in changes.iter() {
                match diff {
                    1 => fields.insert(value),
                    -1 => fields.retract(value),
                    _ => panic!(
                        "{name_owned}: a field value with count {diff} \
                     (each field holds one value at a time)"
                    ),
                }
            }
            let after = view(key, fields);
            if before != after {
                out.extend(before.map(|row| (row, -1)));
                out.extend(after.map(|row| (row, 1)));
            }
            *fields != F::default()
        },
    )
}
